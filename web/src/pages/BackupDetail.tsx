import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type ReactNode } from "react";

import { BUTTON, DANGER, LINK, SECONDARY } from "../components/Form.tsx";
import { Detail, LogView } from "../components/LogView.tsx";
import { isActive, StatusBadge } from "../components/StatusBadge.tsx";
import { CancelButton } from "../components/CancelButton.tsx";
import { VerificationPanel, VerifyButton } from "../components/Verification.tsx";
import { ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import { api, ApiError, type Page, type BackupDetail as BackupRecord, type LogLine } from "../lib/api.ts";
import { describePolicy } from "../lib/labels.ts";
import { can, useMe } from "../lib/auth.ts";
import { useExecutionStream, type ExecutionUpdate, type StreamState } from "../lib/events.ts";
import { formatBytes, formatDateTime, formatDuration, formatRelative } from "../lib/format.ts";
import { Link, navigate } from "../lib/router.tsx";
import { useS3Available } from "../lib/hooks/system.ts";
import { useDeleteBackup, useUploadToS3 } from "../lib/hooks/backups.ts";
import { queryKeys } from "../lib/queryKeys.ts";

const TYPE_LABEL: Record<string, string> = {
  manual: "Manual",
  hourly: "Hourly (scheduled)",
  daily: "Daily (scheduled)",
  weekly: "Weekly (scheduled)",
  monthly: "Monthly (scheduled)",
  custom: "Custom schedule",
  "pre-restore": "Safety backup before a restore",
};

const COPY_TONE: Record<string, string> = {
  completed: "text-emerald-700 dark:text-emerald-400",
  pending: "text-amber-700 dark:text-amber-400",
  failed: "text-red-700 dark:text-red-400",
  deleted: "text-zinc-500 line-through dark:text-zinc-500",
};

const LEVELS = [
  { value: "all", label: "all" },
  { value: "info", label: "info and above" },
  { value: "warn", label: "warnings and errors" },
  { value: "error", label: "errors only" },
] as const;
type LevelChoice = (typeof LEVELS)[number]["value"];

const MUTED = "text-zinc-500 dark:text-zinc-400";

/** The current time, ticking every `every` ms while `enabled` (for "running for …"). */
function useNow(enabled: boolean, every = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!enabled) return;
    const timer = window.setInterval(() => setNow(Date.now()), every);
    return () => window.clearInterval(timer);
  }, [enabled, every]);
  return now;
}

/** Copy `text` to the clipboard (the Clipboard API needs a secure context; else execCommand). */
async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the legacy way
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

function Checksum({ value }: { value: string | null }) {
  const [copied, setCopied] = useState<"idle" | "ok" | "failed">("idle");
  const code = useRef<HTMLElement>(null);
  useEffect(() => {
    if (copied === "idle") return;
    const timer = window.setTimeout(() => setCopied("idle"), 2000);
    return () => window.clearTimeout(timer);
  }, [copied]);
  if (!value) return <span className={MUTED}>—</span>;
  return (
    <div className="flex flex-wrap items-center gap-2">
      <code
        ref={code}
        data-testid="backup-checksum"
        className="rounded bg-zinc-100 px-2 py-1 font-mono text-xs break-all select-all dark:bg-zinc-800"
      >
        {value}
      </code>
      <button
        type="button"
        className={`${SECONDARY} py-1 text-xs`}
        aria-label="Copy the SHA-256 checksum"
        onClick={() => {
          void copyText(value).then((ok) => {
            setCopied(ok ? "ok" : "failed");
            if (!ok && code.current) {
              // Leave it selected so that Ctrl+C works.
              const range = document.createRange();
              range.selectNodeContents(code.current);
              window.getSelection()?.removeAllRanges();
              window.getSelection()?.addRange(range);
            }
          });
        }}
      >
        {copied === "ok" ? "Copied" : "Copy"}
      </button>
      <span aria-live="polite" className={`text-xs ${MUTED}`}>
        {copied === "failed" ? "Selected: press Ctrl+C to copy." : ""}
      </span>
    </div>
  );
}

function CopyRow({ name, status, children }: { name: string; status: string | null | undefined; children: ReactNode }) {
  return (
    <li className="flex flex-col gap-1 py-3 first:pt-0 last:pb-0 sm:flex-row sm:gap-4" data-testid={`copy-${name.toLowerCase()}`}>
      <div className="w-20 shrink-0 text-sm font-medium">{name}</div>
      <div className="min-w-0 flex-1 space-y-1 text-sm">
        <p className={`font-medium ${status ? (COPY_TONE[status] ?? "") : MUTED}`}>{status ?? "not kept"}</p>
        {children}
      </div>
    </li>
  );
}

function Copies({ b, canViewS3 }: { b: BackupRecord; canViewS3: boolean }) {
  const s3Config = useQuery({
    queryKey: queryKeys.s3Config(b.s3ConfigId),
    queryFn: () => api.s3Config(b.s3ConfigId ?? ""),
    enabled: canViewS3 && !!b.s3ConfigId,
    retry: false,
  });
  const local = b.localStatus ?? (b.localPath ? "completed" : null);
  return (
    <ul className="divide-y divide-zinc-100 dark:divide-zinc-800/60">
      <CopyRow name="Local" status={local}>
        {b.localPath ? (
          <p className="font-mono text-xs break-all" data-testid="local-path">
            {b.localPath}
          </p>
        ) : (
          <p className={MUTED}>{b.localStatus === null ? "No local copy was asked for." : "No file."}</p>
        )}
        {b.fileName && b.fileName !== b.localPath && <p className={`text-xs ${MUTED}`}>File name: {b.fileName}</p>}
      </CopyRow>
      <CopyRow name="S3" status={b.s3Status ?? (b.s3Uploaded ? "completed" : null)}>
        {b.s3Bucket || b.s3Key ? (
          <p className="font-mono text-xs break-all" data-testid="s3-location">
            s3://{b.s3Bucket ?? "?"}/{b.s3Key ?? ""}
          </p>
        ) : (
          <p className={MUTED}>{b.s3Status ? "Not uploaded yet." : "No S3 copy."}</p>
        )}
        {b.s3ConfigId && (
          <p className={`text-xs ${MUTED}`}>
            Configuration:{" "}
            {s3Config.data ? (
              <Link to={`/s3-configs/${encodeURIComponent(b.s3ConfigId)}`} className={LINK}>
                {s3Config.data.data.name}
              </Link>
            ) : (
              <span className="font-mono">{b.s3ConfigId}</span>
            )}
          </p>
        )}
        {b.s3UploadAt && <p className={`text-xs ${MUTED}`}>Uploaded {formatDateTime(b.s3UploadAt)}</p>}
        {b.s3Error && (
          <p className="text-xs text-red-700 dark:text-red-400" data-testid="s3-error">
            {b.s3Error}
          </p>
        )}
      </CopyRow>
    </ul>
  );
}

/** The schedule that ran it and the retention policy that will prune it, if any. */
function Retention({ b }: { b: BackupRecord }) {
  const scheduleId = b.backupScheduleId ?? null;
  const schedule = useQuery({
    queryKey: queryKeys.schedule(scheduleId),
    queryFn: () => api.schedule(scheduleId ?? ""),
    enabled: scheduleId !== null,
    retry: false,
  });
  const policyId = b.retentionPolicyId ?? schedule.data?.data.retentionPolicyId ?? null;
  const policy = useQuery({
    queryKey: queryKeys.retentionPolicy(policyId),
    queryFn: () => api.policy(policyId ?? ""),
    enabled: policyId !== null,
    retry: false,
  });
  const gone = (error: unknown) => error instanceof ApiError && error.status === 404;
  return (
    <dl className="grid gap-4 sm:grid-cols-2">
      <Detail label="Schedule">
        {scheduleId === null ? (
          <span className={MUTED}>{b.backupType === "manual" ? "none (started by hand)" : "none"}</span>
        ) : schedule.isPending ? (
          <span className={MUTED}>loading…</span>
        ) : schedule.isError ? (
          <span className={MUTED}>{gone(schedule.error) ? "deleted since" : schedule.error.message}</span>
        ) : (
          <>
            <Link to={`/schedules/${encodeURIComponent(scheduleId)}/edit`} className={LINK}>
              {schedule.data.data.scheduleType}
            </Link>{" "}
            <span className="font-mono text-xs">{schedule.data.data.cronExpression}</span>{" "}
            <span className={`text-xs ${MUTED}`}>({schedule.data.data.timezone})</span>
            {b.scheduledFor && <span className={`block text-xs ${MUTED}`}>Slot {formatDateTime(b.scheduledFor)}</span>}
          </>
        )}
      </Detail>
      <Detail label="Retention policy">
        {policyId === null ? (
          <span className={MUTED}>none: kept until deleted</span>
        ) : policy.isPending ? (
          <span className={MUTED}>loading…</span>
        ) : policy.isError ? (
          <span className={MUTED}>{gone(policy.error) ? "deleted since" : policy.error.message}</span>
        ) : (
          <>
            <Link to={`/retention-policies/${encodeURIComponent(policyId)}`} className={LINK}>
              {policy.data.data.name}
            </Link>
            <span className={`block text-xs ${MUTED}`}>{describePolicy(policy.data.data)}</span>
          </>
        )}
      </Detail>
    </dl>
  );
}

function LiveProgress({ b, total, stream, now }: { b: BackupRecord; total: number | null; stream: StreamState; now: number }) {
  const done = b.progressBytes ?? 0;
  const started = new Date(b.startedAt).getTime();
  const elapsed = Number.isNaN(started) ? null : Math.max(0, (now - started) / 1000);
  const percent = total && total > 0 ? Math.min(100, Math.round((done / total) * 100)) : null;
  return (
    <div
      className="rounded-xl border border-sky-200 bg-sky-50 p-4 text-sm text-sky-900 dark:border-sky-900 dark:bg-sky-950/40 dark:text-sky-200"
      data-testid="backup-progress"
    >
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <p aria-live="polite">
          {b.status === "pending" ? (
            "Waiting for an executor to pick it up…"
          ) : (
            <>
              <span className="font-semibold tabular-nums">{formatBytes(done)}</span> written
              {total ? ` of about ${formatBytes(total)}` : ""}
              {elapsed !== null && ` · running for ${formatDuration(elapsed)}`}
            </>
          )}
        </p>
        <p className="text-xs opacity-80">{stream === "live" ? "Live" : "Refreshing every 2 s"}</p>
      </div>
      {b.status === "running" && (
        <div className="mt-2 h-1.5 overflow-hidden rounded-full bg-sky-200 dark:bg-sky-900" aria-hidden="true">
          <div
            className={`h-full rounded-full bg-sky-600 dark:bg-sky-400 ${percent === null ? "w-1/3 animate-pulse" : ""}`}
            style={percent === null ? undefined : { width: `${percent}%` }}
          />
        </div>
      )}
    </div>
  );
}

/** Upload to S3 and delete (the page shows their outcome under its header). */
function useBackupActions(id: string) {
  const queryClient = useQueryClient();
  const upload = useUploadToS3();
  const remove = useDeleteBackup(() => {
    queryClient.removeQueries({ queryKey: queryKeys.backup(id) });
    navigate("/backups");
  });
  return { upload, remove };
}

function Actions({ b, actions }: { b: BackupRecord; actions: ReturnType<typeof useBackupActions> }) {
  const me = useMe();
  const user = me.data?.data;
  const completed = b.status === "completed";
  const name = b.databaseName ?? "a deleted database";
  const { upload, remove } = actions;
  const hasCopy = b.localStatus === "completed" || b.s3Status === "completed" || (!b.localStatus && !b.s3Status && !!b.localPath);
  const s3Available = useS3Available();
  const canUpload =
    completed &&
    s3Available &&
    can(user, "backup.execute") &&
    b.localStatus === "completed" &&
    (b.s3Status == null || b.s3Status === "failed" || b.s3Status === "deleted");
  return (
    <div className="flex flex-wrap items-center gap-2">
        <StatusBadge status={b.status} />
        {completed && hasCopy && can(user, "backup.download") && (
          <a href={api.downloadUrl(b.id)} download className={SECONDARY}>
            Download
          </a>
        )}
        {canUpload && (
          <button type="button" className={SECONDARY} disabled={upload.isPending} onClick={() => upload.mutate({ id: b.id, name })}>
            {upload.isPending ? "Queuing…" : b.s3Status === "failed" ? "Retry S3" : "To S3"}
          </button>
        )}
        {completed && can(user, "restore.execute") && (
          <Link to={`/restore/new?backupId=${encodeURIComponent(b.id)}`} className={BUTTON}>
            Restore
          </Link>
        )}
        <VerifyButton backup={b} />
        <CancelButton kind="backup" id={b.id} status={b.status} name={name} />
        {!isActive(b.status) && can(user, "backup.delete") && (
          <button
            type="button"
            className={DANGER}
            disabled={remove.isPending}
            onClick={() => {
              const when = formatDateTime(b.startedAt);
              if (window.confirm(`Delete the backup of ${name} from ${when}? Its file and S3 copy are removed.`)) remove.mutate({ id: b.id, name });
            }}
          >
            {remove.isPending ? "Deleting…" : "Delete"}
          </button>
        )}
    </div>
  );
}

export function BackupDetail({ backupId }: { backupId: string }) {
  const queryClient = useQueryClient();
  const me = useMe();
  const key = queryKeys.backup(backupId);
  const [level, setLevel] = useState<LevelChoice>("all");
  const [bytesTotal, setBytesTotal] = useState<number | null>(null);

  // The stream's state, for the polling interval (set below, once the stream hook has run).
  const streamRef = useRef<StreamState>("off");

  const onUpdate = (update: ExecutionUpdate) => {
    if (update.event === "progress" || update.event === "log") {
      queryClient.setQueryData<Page<BackupRecord>>(key, (old) => {
        if (!old) return old;
        const data = { ...old.data };
        if (update.status) data.status = update.status;
        if (update.progressBytes !== undefined) data.progressBytes = update.progressBytes;
        if (update.event === "log" && update.message !== undefined) {
          const line: LogLine = {
            id: `live-${data.logs.length}-${update.at ?? ""}`,
            executionId: backupId,
            executionType: "backup",
            logLevel: update.level ?? "info",
            message: update.message,
            metadata: null,
            timestamp: update.at ?? new Date().toISOString(),
          };
          data.logs = [...data.logs, line];
        }
        return { ...old, data };
      });
      if (update.bytesTotal) setBytesTotal(update.bytesTotal);
      if (update.event === "log") void queryClient.invalidateQueries({ queryKey: queryKeys.backupLogs(backupId) });
    } else {
      // started, finished, deleted: the whole record (and its stored log) again
      void queryClient.invalidateQueries({ queryKey: key });
      void queryClient.invalidateQueries({ queryKey: queryKeys.backupLogs(backupId) });
    }
  };

  const backup = useQuery({
    queryKey: key,
    queryFn: () => api.backup(backupId),
    retry: (count, error) => !(error instanceof ApiError && error.status === 404) && count < 2,
    // Poll every 2 s while it runs, or every 10 s as a safety net while the stream is live.
    refetchInterval: (query) => {
      const status = query.state.data?.data.status;
      if (status !== undefined && !isActive(status)) return false;
      return streamRef.current === "live" ? 10_000 : 2_000;
    },
  });
  const status = backup.data?.data.status;
  const live = status !== undefined && isActive(status);
  const stream = useExecutionStream("backup", backupId, live, onUpdate);
  useEffect(() => {
    streamRef.current = stream;
  }, [stream]);
  const now = useNow(live);
  const actions = useBackupActions(backupId);

  const filtered = useQuery({
    queryKey: queryKeys.backupLogs(backupId, level),
    queryFn: () => api.backupLogs(backupId, level === "all" ? undefined : level),
    enabled: level !== "all",
    refetchInterval: live ? (stream === "live" ? 10_000 : 2_000) : false,
  });

  const wasLive = useRef(live);
  useEffect(() => {
    if (wasLive.current && status !== undefined && !isActive(status)) {
      void queryClient.invalidateQueries({ queryKey: queryKeys.backups() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.stats() });
    }
    if (status !== undefined) wasLive.current = isActive(status);
  }, [status, queryClient]);

  if (backup.isPending) return <Loading label="Loading backup…" />;
  if (backup.isError) {
    const missing = backup.error instanceof ApiError && backup.error.status === 404;
    return (
      <>
        <p className="mb-2 text-sm">
          <Link to="/backups" className={LINK}>
            ← Backups
          </Link>
        </p>
        <ErrorState
          error={missing ? new Error("This backup does not exist (or was deleted).") : backup.error}
          onRetry={missing ? undefined : () => void backup.refetch()}
        />
      </>
    );
  }
  const b = backup.data.data;
  const user = me.data?.data;
  const logs = level === "all" ? b.logs : (filtered.data?.data ?? []);

  return (
    <>
      <p className="mb-2 text-sm">
        <Link to="/backups" className={LINK}>
          ← Backups
        </Link>
      </p>
      <PageHeader title={`Backup of ${b.databaseName ?? "a deleted database"}`} actions={<Actions b={b} actions={actions} />} />
      <div className="space-y-6" data-testid="backup-detail">
        {b.status === "failed" && b.errorMessage && (
          <div
            role="alert"
            data-testid="backup-error"
            className="rounded-lg border border-red-200 bg-red-50 p-4 text-sm break-words whitespace-pre-wrap text-red-800 dark:border-red-900 dark:bg-red-950/40 dark:text-red-300"
          >
            {b.errorMessage}
          </div>
        )}
        {live && <LiveProgress b={b} total={bytesTotal} stream={stream} now={now} />}
        <Panel>
          <dl className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
            <Detail label="Database">
              {b.databaseName ? (
                <Link to={`/databases/${encodeURIComponent(b.databaseConfigId)}`} className={LINK}>
                  {b.databaseName}
                </Link>
              ) : (
                <span className={MUTED}>deleted</span>
              )}
            </Detail>
            <Detail label="Type">{TYPE_LABEL[b.backupType] ?? b.backupType}</Detail>
            <Detail label="Status">
              <StatusBadge status={b.status} />
            </Detail>
            <Detail label="Size">
              {live ? `${formatBytes(b.progressBytes ?? 0)} so far` : formatBytes(b.fileSizeBytes)}
              {b.databaseSizeBytes != null && <span className={`block text-xs ${MUTED}`}>database {formatBytes(b.databaseSizeBytes)}</span>}
            </Detail>
            <Detail label="Started">
              <span title={b.startedAt}>{formatDateTime(b.startedAt)}</span>
              <span className={`block text-xs ${MUTED}`}>{formatRelative(b.startedAt, now)}</span>
            </Detail>
            <Detail label="Completed">
              {b.completedAt ? <span title={b.completedAt}>{formatDateTime(b.completedAt)}</span> : live ? "in progress" : "—"}
            </Detail>
            <Detail label="Duration">{formatDuration(b.durationSeconds)}</Detail>
            <Detail label="Compression">{b.compressionUsed ?? "—"}</Detail>
            <Detail label="Checksum (SHA-256)" className="sm:col-span-2 lg:col-span-4">
              <Checksum value={b.checksum} />
            </Detail>
            <Detail label="Server version">{b.serverVersion ?? "—"}</Detail>
            <Detail label="Dump tool">{b.toolVersion ?? "—"}</Detail>
            <Detail label="Executor">
              {b.executorId ?? "—"}
              <span className={`block text-xs ${MUTED}`}>
                queue {b.queue ?? "default"}, attempt {b.attempt ?? 1}
              </span>
            </Detail>
            <Detail label="Backup id">
              <span className="font-mono text-xs break-all">{b.id}</span>
              {b.retryOf && (
                <span className="block text-xs">
                  Retry {b.retryNumber ?? ""} of{" "}
                  <Link to={`/backups/${encodeURIComponent(b.retryOf)}`} className={LINK}>
                    the failed run
                  </Link>
                </span>
              )}
              {b.importedAt && <span className={`block text-xs ${MUTED}`}>imported {formatDateTime(b.importedAt)}</span>}
            </Detail>
          </dl>
        </Panel>
        <Panel title="Copies">
          <Copies b={b} canViewS3={can(user, "s3.view")} />
        </Panel>
        {b.status === "completed" && (
          <Panel title="Verification">
            <VerificationPanel backup={b} />
          </Panel>
        )}
        <Panel title="Schedule and retention">
          <Retention b={b} />
        </Panel>
        <Panel title={live ? "Live log" : "Log"}>
          <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
            <p className={`text-xs ${MUTED}`}>
              {live ? (stream === "live" ? "Streaming as the executor writes." : "Refreshing every 2 s.") : `${logs.length} lines`}
            </p>
            <label className="flex items-center gap-2 text-sm">
              Level
              <select
                value={level}
                onChange={(event) => setLevel(event.target.value as LevelChoice)}
                className="rounded-md border border-zinc-300 bg-white px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900"
              >
                {LEVELS.map((choice) => (
                  <option key={choice.value} value={choice.value}>
                    {choice.label}
                  </option>
                ))}
              </select>
            </label>
          </div>
          {level !== "all" && filtered.isError ? (
            <ErrorState error={filtered.error} onRetry={() => void filtered.refetch()} />
          ) : level !== "all" && filtered.isPending ? (
            <Loading label="Loading log lines…" />
          ) : (
            <LogView logs={logs} live={live} empty={level !== "all" ? "No lines at this level." : undefined} />
          )}
        </Panel>
      </div>
    </>
  );
}
