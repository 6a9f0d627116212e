import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "../lib/api.ts";
import { can, useMe } from "../lib/auth.ts";
import { formatBytes, formatDateTime } from "../lib/format.ts";
import { queryKeys } from "../lib/queryKeys.ts";
import type { Backup, DatabaseConfig } from "../lib/api.ts";
import {
  setVerificationTarget,
  VERIFY_EVERY,
  verificationKeys,
  verifications,
  type VerificationStatus,
  type VerifyEvery,
} from "../lib/verification.ts";
import { INPUT, SECONDARY } from "./Form.tsx";
import { isActive } from "./StatusBadge.tsx";

const TONE: Record<VerificationStatus, string> = {
  verified: "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-300",
  failed: "bg-red-100 text-red-800 dark:bg-red-900/40 dark:text-red-300",
  running: "bg-sky-100 text-sky-800 dark:bg-sky-900/40 dark:text-sky-300",
  unverified: "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400",
};

const LABEL: Record<VerificationStatus, string> = {
  verified: "verified",
  failed: "failed",
  running: "verifying",
  unverified: "unverified",
};

/** Whether a backup was proven by a restore: verified / failed / verifying / unverified. */
export function VerificationBadge({ backup }: { backup: Backup }) {
  const status: VerificationStatus = backup.verificationStatus ?? "unverified";
  const title =
    status === "verified"
      ? (backup.verificationSummary ?? "verified")
      : status === "failed"
        ? (backup.verificationError ?? "the latest verification failed")
        : status === "running"
          ? "being restored into a scratch database and compared"
          : backup.recordedTables == null
            ? "never verified; no row counts were recorded, so it cannot be"
            : "never verified";
  return (
    <span
      className={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ${TONE[status]}`}
      title={title}
      data-testid="verification-badge"
      data-status={status}
    >
      {status === "running" && <span aria-hidden="true" className="size-1.5 animate-pulse rounded-full bg-current" />}
      {status === "verified" && <span aria-hidden="true">✓</span>}
      {status === "failed" && <span aria-hidden="true">✕</span>}
      {LABEL[status]}
    </span>
  );
}

/** "Verify" on a completed backup with a local copy and recorded counts (operators and up). */
export function VerifyButton({ backup }: { backup: Backup }) {
  const queryClient = useQueryClient();
  const me = useMe();
  const start = useMutation({
    mutationFn: () => verifications.start(backup.id),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.backup(backup.id) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.backups() });
    },
  });
  const stored = backup.localStatus === "completed" || backup.s3Status === "completed";
  const verifiable = backup.status === "completed" && stored && backup.recordedTables != null;
  if (!can(me.data?.data, "backup.execute") || backup.status !== "completed") return null;
  const running = backup.verificationStatus === "running" || start.isPending;
  const why = !verifiable
    ? backup.recordedTables == null
      ? "No row counts were recorded for this backup (made before verification existed, or the count failed)."
      : "Only a backup with a stored copy can be verified."
    : "Restore this backup into a scratch database on the same server, compare row counts and schema objects, then drop it.";
  return (
    <span className="inline-flex items-center gap-2">
      <button
        type="button"
        className={SECONDARY}
        disabled={!verifiable || running}
        title={start.error ? start.error.message : why}
        onClick={() => start.mutate()}
        data-testid="verify-backup"
      >
        {running ? "Verifying…" : backup.verificationStatus === "failed" ? "Verify again" : "Verify"}
      </button>
      {start.isError && (
        <span role="alert" className="max-w-xs text-xs text-red-700 dark:text-red-400">
          {start.error.message}
        </span>
      )}
    </span>
  );
}

const MUTED = "text-zinc-500 dark:text-zinc-400";

/** Stop a running verification (its scratch database is dropped; the backup keeps its earlier verdict). */
function CancelVerification({ id, backupId }: { id: string; backupId: string }) {
  const queryClient = useQueryClient();
  const me = useMe();
  const cancel = useMutation({
    mutationFn: () => verifications.cancel(id),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: verificationKeys.one(id) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.backup(backupId) });
    },
  });
  if (!can(me.data?.data, "backup.execute")) return null;
  return (
    <button
      type="button"
      className="text-xs font-medium text-red-700 hover:underline disabled:opacity-50 dark:text-red-400"
      disabled={cancel.isPending || cancel.isSuccess}
      title={cancel.error ? cancel.error.message : "Stop this verification; the scratch database is dropped"}
      onClick={() => cancel.mutate()}
      data-testid="cancel-verification"
    >
      {cancel.isPending || cancel.isSuccess ? "Cancelling…" : cancel.isError ? "Cancel failed — retry" : "Cancel verification"}
    </button>
  );
}

/** The verification panel of a backup's details: the verdict, what was compared, live progress
 * of a running verification and the differences of a failed one. */
export function VerificationPanel({ backup }: { backup: Backup }) {
  const queryClient = useQueryClient();
  const id = backup.verificationId ?? null;
  const detail = useQuery({
    queryKey: verificationKeys.one(id),
    queryFn: () => verifications.get(id ?? ""),
    enabled: id !== null,
    refetchInterval: (query) => {
      const status = query.state.data?.data.status;
      if (status !== undefined && !isActive(status)) {
        if (backup.verificationStatus === "running") void queryClient.invalidateQueries({ queryKey: queryKeys.backup(backup.id) });
        return false;
      }
      return 2_000;
    },
  });
  const v = detail.data?.data;
  const status: VerificationStatus = backup.verificationStatus ?? "unverified";
  return (
    <div className="space-y-3 text-sm" data-testid="verification-panel">
      <div className="flex flex-wrap items-center gap-3">
        <VerificationBadge backup={backup} />
        {status === "verified" && <span data-testid="verification-summary">{backup.verificationSummary}</span>}
        {status === "unverified" && (
          <span className={MUTED}>
            {backup.recordedTables == null
              ? "No row counts were recorded at backup time, so this backup cannot be verified."
              : `Recorded at backup time: ${backup.recordedTables.toLocaleString()} tables, ${(backup.recordedRows ?? 0).toLocaleString()} rows. Not verified yet.`}
          </span>
        )}
      </div>
      {status === "running" && v && (
        <p className={MUTED} data-testid="verification-progress">
          {v.status === "pending"
            ? "Waiting for an executor…"
            : `Restoring into ${v.scratchDatabase}: ${formatBytes(v.progressBytes)} of ${formatBytes(backup.fileSizeBytes)} read`}
          {v.logs.length > 0 && <span className="block text-xs">{v.logs.at(-1)?.message}</span>}
        </p>
      )}
      {status === "running" && v && isActive(v.status) && <CancelVerification id={v.id} backupId={backup.id} />}
      {status === "failed" && backup.verificationError && (
        <div
          role="alert"
          data-testid="verification-error"
          className="rounded-lg border border-red-200 bg-red-50 p-3 break-words whitespace-pre-wrap text-red-800 dark:border-red-900 dark:bg-red-950/40 dark:text-red-300"
        >
          {backup.verificationError}
        </div>
      )}
      {v && v.mismatches.length > 1 && (
        <ul className="list-disc space-y-0.5 pl-5 text-xs text-red-800 dark:text-red-300" data-testid="verification-mismatches">
          {v.mismatches.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ul>
      )}
      {v && !isActive(v.status) && (
        <p className={`text-xs ${MUTED}`}>
          Last run {formatDateTime(v.completedAt ?? v.startedAt)} in scratch database <span className="font-mono">{v.scratchDatabase}</span>
          {v.initiatedBy ? `, by ${v.initiatedBy}` : ""}; the scratch database was dropped afterwards.
        </p>
      )}
    </div>
  );
}

export const VERIFY_EVERY_HINT =
  "Restore the latest completed backup into a scratch database on the same server, compare its row counts and schema objects with the ones recorded at backup time, then drop it.";

/** The schedule form's choice of how often its backups are verified. */
export function VerifyEverySelect({ id, value, onChange }: { id: string; value: VerifyEvery; onChange: (value: VerifyEvery) => void }) {
  return (
    <select id={id} className={INPUT} value={value} onChange={(e) => onChange(e.target.value as VerifyEvery)} data-testid="schedule-verify-every">
      {VERIFY_EVERY.map((choice) => (
        <option key={choice.value} value={choice.value}>
          {choice.label}
        </option>
      ))}
    </select>
  );
}

/** Where verification restores of a database's backups go: its own server, or the server of
 * another configuration of the same engine (changeable by operators). */
export function VerificationTarget({ database }: { database: DatabaseConfig }) {
  const queryClient = useQueryClient();
  const me = useMe();
  const all = useQuery({ queryKey: queryKeys.databases(), queryFn: () => api.databases() });
  const change = useMutation({
    mutationFn: (target: string | null) => setVerificationTarget(database.id, target),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: queryKeys.database(database.id) }),
  });
  const candidates = (all.data?.data ?? []).filter((d) => d.type === database.type && d.id !== database.id);
  const current = database.verificationDatabaseId ?? "";
  const currentName = candidates.find((d) => d.id === current)?.name;
  if (!can(me.data?.data, "database.manage")) {
    return <span>{current ? `on the server of ${currentName ?? current}` : "on this database's server"}</span>;
  }
  return (
    <span className="flex flex-col gap-1">
      <select
        aria-label="Server verification restores go to"
        className={INPUT}
        value={current}
        disabled={change.isPending}
        onChange={(e) => change.mutate(e.target.value || null)}
        data-testid="verification-target"
      >
        <option value="">This database's server</option>
        {candidates.map((d) => (
          <option key={d.id} value={d.id}>
            Server of {d.name} ({d.host}:{d.port})
          </option>
        ))}
      </select>
      <span className={`text-xs ${MUTED}`}>
        A scratch database is created there, restored, compared and dropped; the user needs the right to create databases.
      </span>
      {change.isError && (
        <span role="alert" className="text-xs text-red-700 dark:text-red-400">
          {change.error.message}
        </span>
      )}
    </span>
  );
}
