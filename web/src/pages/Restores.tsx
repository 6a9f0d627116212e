import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";

import { BUTTON, CHECKBOX, Field, INPUT, LINK, ReadOnlyNote, SECONDARY, TD, TH } from "../components/Form.tsx";
import { isActive, StatusBadge } from "../components/StatusBadge.tsx";
import { Empty, ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import { api } from "../lib/api.ts";
import { can, useMe } from "../lib/auth.ts";
import { formatBytes, formatDateTime, formatDuration, formatRelative } from "../lib/format.ts";
import { resources, type LogLine, type Restore, type RestoreOptions, type RestoreSource } from "../lib/resources.ts";
import { Link, navigate, useSearch } from "../lib/router.tsx";
import type { Backup, DatabaseConfig } from "../lib/types.ts";

const PAGE_SIZE = 50;
const STATUSES = ["", "pending", "running", "completed", "failed", "cancelled"] as const;

function sourceLabel(restore: Restore): string {
  if (restore.sourceType === "s3") return restore.s3Bucket ? `S3 (${restore.s3Bucket})` : "S3";
  return restore.sourceType;
}

export function Restores() {
  const me = useMe();
  const canRestore = can(me.data?.data, "restore.execute");
  const params = new URLSearchParams(useSearch());
  const page = Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
  const status = params.get("status") ?? "";
  const setParam = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    if (key !== "page") next.delete("page");
    const text = next.toString();
    navigate(`/restores${text ? `?${text}` : ""}`, { replace: true });
  };
  const filters = { page, limit: PAGE_SIZE, status: status || undefined };
  const restores = useQuery({
    queryKey: ["restores", filters],
    queryFn: () => resources.restores(filters),
    placeholderData: keepPreviousData,
    refetchInterval: (query) => (query.state.data?.data.some((r) => isActive(r.status)) ? 3_000 : 30_000),
  });
  const total = restores.data?.meta.total;
  const lastPage = total === undefined ? page : Math.max(1, Math.ceil(total / PAGE_SIZE));

  return (
    <>
      <PageHeader
        title="Restores"
        actions={
          <div className="flex flex-wrap items-center gap-3">
            <label className="flex items-center gap-2 text-sm">
              Status
              <select
                value={status}
                onChange={(event) => setParam("status", event.target.value)}
                className="rounded-md border border-zinc-300 bg-white px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900"
              >
                {STATUSES.map((value) => (
                  <option key={value} value={value}>
                    {value || "all"}
                  </option>
                ))}
              </select>
            </label>
            {canRestore && (
              <Link to="/restore/new" className={BUTTON}>
                New restore
              </Link>
            )}
          </div>
        }
      />
      <Panel>
        {restores.isPending ? (
          <Loading label="Loading restores…" />
        ) : restores.isError ? (
          <ErrorState error={restores.error} onRetry={() => void restores.refetch()} />
        ) : restores.data.data.length === 0 ? (
          <Empty>
            No restores{status ? " match" : " yet"}.{" "}
            {canRestore && !status && (
              <Link to="/restore/new" className={LINK}>
                Restore a backup
              </Link>
            )}
          </Empty>
        ) : (
          <>
            <div className="overflow-x-auto">
              <table className="min-w-full divide-y divide-zinc-200 dark:divide-zinc-800">
                <thead>
                  <tr>
                    <th scope="col" className={TH}>Started</th>
                    <th scope="col" className={TH}>Into database</th>
                    <th scope="col" className={TH}>Source</th>
                    <th scope="col" className={TH}>Status</th>
                    <th scope="col" className={`${TH} text-right`}>Duration</th>
                    <th scope="col" className={TH}>By</th>
                    <th scope="col" className={TH}><span className="sr-only">Details</span></th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800/60">
                  {restores.data.data.map((restore) => (
                    <tr key={restore.id} data-testid="restore-row">
                      <td className={`${TD} whitespace-nowrap`} title={formatDateTime(restore.startedAt)}>
                        {formatDateTime(restore.startedAt)}
                      </td>
                      <td className={`${TD} font-medium`}>{restore.databaseName ?? "—"}</td>
                      <td className={TD}>{sourceLabel(restore)}</td>
                      <td className={TD}>
                        <StatusBadge status={restore.status} />
                        {restore.status === "failed" && restore.errorMessage && (
                          <p className="mt-1 max-w-xs truncate text-xs text-red-700 dark:text-red-400" title={restore.errorMessage}>
                            {restore.errorMessage}
                          </p>
                        )}
                      </td>
                      <td className={`${TD} text-right tabular-nums`}>{formatDuration(restore.durationSeconds)}</td>
                      <td className={TD}>{restore.initiatedBy ?? "—"}</td>
                      <td className={`${TD} text-right`}>
                        <Link to={`/restores/${encodeURIComponent(restore.id)}`} className={LINK} aria-label={`Details of the restore into ${restore.databaseName ?? restore.id}`}>
                          Details
                        </Link>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <nav aria-label="Pagination" className="mt-4 flex items-center justify-between text-sm">
              <span className="text-zinc-500 dark:text-zinc-400">
                Page {page} of {lastPage}
                {total !== undefined && ` · ${total} restores`}
              </span>
              <div className="flex gap-2">
                <button type="button" className={SECONDARY} disabled={page <= 1} onClick={() => setParam("page", String(page - 1))}>
                  Previous
                </button>
                <button type="button" className={SECONDARY} disabled={page >= lastPage} onClick={() => setParam("page", String(page + 1))}>
                  Next
                </button>
              </div>
            </nav>
          </>
        )}
      </Panel>
    </>
  );
}

const LEVEL_STYLE: Record<string, string> = {
  error: "text-red-400",
  warn: "text-amber-300",
  info: "text-zinc-200",
  debug: "text-zinc-500",
};

/** Execution log lines, newest at the bottom; follows the end while more arrive. */
export function LogView({ logs, live }: { logs: LogLine[]; live: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [logs.length]);
  return (
    <div
      ref={box}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
      role="log"
      aria-live={live ? "polite" : "off"}
      aria-label="Execution log"
      data-testid="execution-log"
      className="max-h-[28rem] overflow-auto rounded-lg bg-zinc-950 p-3 font-mono text-xs leading-relaxed text-zinc-200"
    >
      {logs.length === 0 ? (
        <p className="text-zinc-500">{live ? "Waiting for the executor…" : "No log lines."}</p>
      ) : (
        logs.map((line) => (
          <p key={line.id} className="break-words whitespace-pre-wrap">
            <span className="text-zinc-500">{new Date(line.timestamp).toLocaleTimeString()}</span>{" "}
            <span className={`font-semibold uppercase ${LEVEL_STYLE[line.logLevel] ?? ""}`}>[{line.logLevel}]</span>{" "}
            <span className={line.logLevel === "error" ? "text-red-300" : ""}>{line.message}</span>
          </p>
        ))
      )}
      {live && logs.length > 0 && <p className="animate-pulse text-zinc-500">…</p>}
    </div>
  );
}

function Detail({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt className="text-xs font-semibold uppercase tracking-wide text-zinc-500 dark:text-zinc-400">{label}</dt>
      <dd className="mt-0.5 text-sm break-words">{children}</dd>
    </div>
  );
}

const OPTION_LABEL: Record<keyof RestoreOptions, string> = {
  dropAndRecreate: "drop and recreate",
  clean: "clean first",
  schemaOnly: "schema only",
  dataOnly: "data only",
  noOwner: "no owner",
  exitOnError: "stop at first error",
};

export function RestoreDetail({ restoreId }: { restoreId: string }) {
  const queryClient = useQueryClient();
  const restore = useQuery({
    queryKey: ["restore", restoreId],
    queryFn: () => resources.restore(restoreId),
    refetchInterval: (query) => {
      const status = query.state.data?.data.status;
      return status === undefined || isActive(status) ? 2_000 : false;
    },
  });
  const status = restore.data?.data.status;
  useEffect(() => {
    if (status !== undefined && !isActive(status)) {
      void queryClient.invalidateQueries({ queryKey: ["restores"] });
      void queryClient.invalidateQueries({ queryKey: ["stats"] });
    }
  }, [status, queryClient]);

  if (restore.isPending) return <Loading label="Loading restore…" />;
  if (restore.isError) return <ErrorState error={restore.error} onRetry={() => void restore.refetch()} />;
  const r = restore.data.data;
  const options = r.restoreOptions
    ? (Object.keys(OPTION_LABEL) as (keyof RestoreOptions)[]).filter((key) => r.restoreOptions?.[key]).map((key) => OPTION_LABEL[key])
    : [];
  const live = isActive(r.status);

  return (
    <>
      <p className="mb-2 text-sm">
        <Link to="/restores" className={LINK}>
          ← Restores
        </Link>
      </p>
      <PageHeader title={`Restore into ${r.databaseName ?? "a deleted database"}`} actions={<StatusBadge status={r.status} />} />
      <div className="space-y-6">
        {r.status === "failed" && r.errorMessage && (
          <div role="alert" className="rounded-lg border border-red-200 bg-red-50 p-4 text-sm text-red-800 dark:border-red-900 dark:bg-red-950/40 dark:text-red-300">
            {r.errorMessage}
          </div>
        )}
        <Panel>
          <dl className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
            <Detail label="Started">{formatDateTime(r.startedAt)}</Detail>
            <Detail label="Finished">{r.completedAt ? formatDateTime(r.completedAt) : live ? "in progress" : "—"}</Detail>
            <Detail label="Duration">{formatDuration(r.durationSeconds)}</Detail>
            <Detail label="Read so far">{formatBytes(r.progressBytes)}</Detail>
            <Detail label="Source">
              {sourceLabel(r)}
              {r.s3Key && <span className="block font-mono text-xs text-zinc-500 dark:text-zinc-400">{r.s3Key}</span>}
              {r.sourcePath && <span className="block font-mono text-xs text-zinc-500 dark:text-zinc-400">{r.sourcePath}</span>}
            </Detail>
            <Detail label="Backup">
              {r.backupExecutionId ? <span className="font-mono text-xs">{r.backupExecutionId}</span> : "—"}
            </Detail>
            <Detail label="Options">{options.length ? options.join(", ") : "defaults"}</Detail>
            <Detail label="Requested by">{r.initiatedBy ?? "—"}</Detail>
            <Detail label="Executor">
              {r.executorId ?? "—"} <span className="text-xs text-zinc-500 dark:text-zinc-400">(queue {r.queue}, attempt {r.attempt})</span>
            </Detail>
          </dl>
        </Panel>
        <Panel title={live ? "Live log" : "Log"}>
          <LogView logs={r.logs} live={live} />
        </Panel>
      </div>
    </>
  );
}

// --- the wizard --------------------------------------------------------------------------------

const NO_OPTIONS: RestoreOptions = {
  dropAndRecreate: false,
  clean: false,
  schemaOnly: false,
  dataOnly: false,
  noOwner: false,
  exitOnError: true,
};

function hasLocal(backup: Backup): boolean {
  if (backup.localStatus === undefined) return true; // older API: assume the local copy
  return backup.localStatus === "completed";
}

function hasS3(backup: Backup): boolean {
  return backup.s3Status === "completed" || (backup.s3Status === undefined && backup.s3Uploaded === true);
}

function Step({ n, title, children, done }: { n: number; title: string; children: ReactNode; done?: boolean }) {
  return (
    <section aria-labelledby={`step-${n}`} className="rounded-xl border border-zinc-200 bg-white p-4 shadow-sm dark:border-zinc-800 dark:bg-zinc-900">
      <h2 id={`step-${n}`} className="mb-3 flex items-center gap-2 font-semibold">
        <span
          aria-hidden="true"
          className={`inline-flex size-6 items-center justify-center rounded-full text-xs ${
            done ? "bg-emerald-600 text-white" : "bg-orange-600 text-white"
          }`}
        >
          {done ? "✓" : n}
        </span>
        {title}
      </h2>
      {children}
    </section>
  );
}

function BackupPicker({ databases, selected, onSelect }: { databases: DatabaseConfig[]; selected: string; onSelect: (backup: Backup) => void }) {
  const [databaseId, setDatabaseId] = useState("");
  const filters = { status: "completed", limit: 20, databaseId: databaseId || undefined };
  const backups = useQuery({ queryKey: ["backups", filters], queryFn: () => api.backups(filters), placeholderData: keepPreviousData });
  return (
    <div className="space-y-3">
      <Field id="wizard-source-db" label="Backups of" className="max-w-sm">
        <select id="wizard-source-db" className={INPUT} value={databaseId} onChange={(e) => setDatabaseId(e.target.value)}>
          <option value="">every database</option>
          {databases.map((db) => (
            <option key={db.id} value={db.id}>
              {db.name}
            </option>
          ))}
        </select>
      </Field>
      {backups.isPending ? (
        <Loading label="Loading backups…" />
      ) : backups.isError ? (
        <ErrorState error={backups.error} onRetry={() => void backups.refetch()} />
      ) : backups.data.data.length === 0 ? (
        <Empty>No completed backups{databaseId ? " of this database" : ""}.</Empty>
      ) : (
        <fieldset>
          <legend className="sr-only">Backup to restore</legend>
          <ul className="max-h-80 divide-y divide-zinc-100 overflow-auto rounded-lg border border-zinc-200 dark:divide-zinc-800/60 dark:border-zinc-800">
            {backups.data.data.map((backup) => (
              <li key={backup.id}>
                <label className={`flex cursor-pointer items-center gap-3 px-3 py-2 text-sm hover:bg-zinc-50 dark:hover:bg-zinc-800/60 ${selected === backup.id ? "bg-orange-50 dark:bg-orange-950/30" : ""}`}>
                  <input type="radio" name="backup" className="accent-orange-600" checked={selected === backup.id} onChange={() => onSelect(backup)} data-testid="backup-choice" />
                  <span className="min-w-0 flex-1">
                    <span className="font-medium">{backup.databaseName ?? "—"}</span>{" "}
                    <span className="text-zinc-500 dark:text-zinc-400">
                      {backup.backupType} · {formatDateTime(backup.startedAt)} ({formatRelative(backup.startedAt)})
                    </span>
                  </span>
                  <span className="shrink-0 text-xs text-zinc-500 tabular-nums dark:text-zinc-400">
                    {formatBytes(backup.fileSizeBytes)}
                    {hasLocal(backup) && " · local"}
                    {hasS3(backup) && " · S3"}
                  </span>
                </label>
              </li>
            ))}
          </ul>
        </fieldset>
      )}
    </div>
  );
}

export function RestoreWizard() {
  const me = useMe();
  const canRestore = can(me.data?.data, "restore.execute");
  const queryClient = useQueryClient();
  const params = new URLSearchParams(useSearch());
  const [backupId, setBackupId] = useState(params.get("backupId") ?? "");
  const [picked, setPicked] = useState<Backup | null>(null);
  const [targetId, setTargetId] = useState("");
  const [source, setSource] = useState<RestoreSource>("auto");
  const [options, setOptions] = useState<RestoreOptions>(NO_OPTIONS);
  const [typed, setTyped] = useState("");

  const databases = useQuery({ queryKey: ["databases"], queryFn: api.databases });
  const given = useQuery({
    queryKey: ["backup", backupId],
    queryFn: () => resources.backup(backupId),
    enabled: backupId !== "" && picked?.id !== backupId,
    retry: false,
  });
  const backup: Backup | null = picked?.id === backupId ? picked : given.data?.data ?? null;
  const all = databases.data?.data ?? [];
  const sourceDb = backup ? all.find((db) => db.id === backup.databaseConfigId) : undefined;
  const targets = sourceDb ? all.filter((db) => db.type === sourceDb.type) : [];
  const target = targets.find((db) => db.id === targetId);

  // Default target, once per chosen backup: its own database when that can take a restore.
  const defaulted = useRef("");
  useEffect(() => {
    if (!backup || defaulted.current === backup.id || all.length === 0) return;
    defaulted.current = backup.id;
    const own = all.find((db) => db.id === backup.databaseConfigId && db.enabled);
    if (own && !targetId) setTargetId(own.id);
  }, [backup, all, targetId]);

  const start = useMutation({
    mutationFn: () => resources.createRestore({ databaseId: targetId, backupId, source, options }),
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: ["restores"] });
      navigate(`/restores/${encodeURIComponent(created.data.id)}`);
    },
  });

  const setOption = (key: keyof RestoreOptions, value: boolean) =>
    setOptions((o) => {
      const next = { ...o, [key]: value };
      // Schema only and data only exclude each other.
      if (key === "schemaOnly" && value) next.dataOnly = false;
      if (key === "dataOnly" && value) next.schemaOnly = false;
      return next;
    });

  const localOk = backup ? hasLocal(backup) : false;
  const s3Ok = backup ? hasS3(backup) : false;
  const confirmWord = target?.databaseName ?? "";
  const confirmed = confirmWord !== "" && typed === confirmWord;
  const ready = backup !== null && target !== undefined && target.enabled && confirmed && canRestore;
  const isMysql = sourceDb?.type === "mysql";

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (ready) start.mutate();
  };

  return (
    <>
      <PageHeader title="Restore a backup" />
      {me.data && !canRestore && <ReadOnlyNote>Your role cannot start restores.</ReadOnlyNote>}
      <form onSubmit={submit} className="space-y-4" noValidate>
        <Step n={1} title="Choose a completed backup" done={backup !== null}>
          {backup ? (
            <div className="flex flex-wrap items-center justify-between gap-3 text-sm" data-testid="chosen-backup">
              <p>
                <span className="font-medium">{backup.databaseName ?? "—"}</span> · {backup.backupType} · {formatDateTime(backup.startedAt)} · {formatBytes(backup.fileSizeBytes)}
                {backup.status !== "completed" && (
                  <span className="ml-2 text-red-700 dark:text-red-400">This backup is {backup.status}: only completed backups can be restored.</span>
                )}
              </p>
              <button
                type="button"
                className={SECONDARY}
                onClick={() => {
                  setBackupId("");
                  setPicked(null);
                  setTargetId("");
                  setTyped("");
                }}
              >
                Choose another
              </button>
            </div>
          ) : given.isFetching ? (
            <Loading label="Loading the backup…" />
          ) : (
            <>
              {given.isError && (
                <div className="mb-3">
                  <ErrorState error={given.error} />
                </div>
              )}
              <BackupPicker
                databases={all}
                selected={backupId}
                onSelect={(b) => {
                  setPicked(b);
                  setBackupId(b.id);
                  setTargetId("");
                  setTyped("");
                  setSource("auto");
                }}
              />
            </>
          )}
        </Step>

        <Step n={2} title="Choose the target database" done={target !== undefined && target.enabled}>
          {!backup ? (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">Choose a backup first.</p>
          ) : targets.length === 0 ? (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">No configured database of the same engine ({sourceDb?.type ?? "unknown"}).</p>
          ) : (
            <div className="grid gap-4 sm:grid-cols-2">
              <Field
                id="wizard-target"
                label={`Restore into (${sourceDb?.type ?? ""} databases)`}
                error={target && !target.enabled ? "This database is disabled; enable it before restoring into it." : null}
              >
                <select
                  id="wizard-target"
                  className={INPUT}
                  value={targetId}
                  onChange={(e) => {
                    setTargetId(e.target.value);
                    setTyped("");
                  }}
                >
                  <option value="">Select a database</option>
                  {targets.map((db) => (
                    <option key={db.id} value={db.id}>
                      {db.name} — {db.databaseName} on {db.host}:{db.port}
                      {db.enabled ? "" : " (disabled)"}
                    </option>
                  ))}
                </select>
              </Field>
              <fieldset>
                <legend className="mb-1 text-sm font-medium text-zinc-700 dark:text-zinc-300">Read the backup from</legend>
                <div className="flex flex-wrap gap-4 text-sm">
                  {(
                    [
                      ["auto", "Automatic", true],
                      ["local", "Local copy", localOk],
                      ["s3", "S3 copy", s3Ok],
                    ] as const
                  ).map(([value, label, available]) => (
                    <label key={value} className={`flex items-center gap-2 ${available ? "" : "opacity-50"}`}>
                      <input type="radio" name="source" value={value} className="accent-orange-600" disabled={!available} checked={source === value} onChange={() => setSource(value)} />
                      {label}
                      {!available && <span className="text-xs">(none)</span>}
                    </label>
                  ))}
                </div>
                <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">Automatic reads the local copy when there is one, else S3. The checksum is verified either way.</p>
              </fieldset>
            </div>
          )}
        </Step>

        <Step n={3} title="Options">
          <div className="grid gap-2 text-sm sm:grid-cols-2">
            <label className="flex items-start gap-2">
              <input type="checkbox" className={`${CHECKBOX} mt-0.5`} checked={options.dropAndRecreate} onChange={(e) => setOption("dropAndRecreate", e.target.checked)} />
              <span>
                Drop and recreate the database
                <span className="block text-xs text-zinc-500 dark:text-zinc-400">Full replacement: everything in it now is lost.</span>
              </span>
            </label>
            <label className="flex items-start gap-2">
              <input type="checkbox" className={`${CHECKBOX} mt-0.5`} checked={options.clean} onChange={(e) => setOption("clean", e.target.checked)} />
              <span>
                Clean before restoring
                <span className="block text-xs text-zinc-500 dark:text-zinc-400">Drop the objects the backup contains before recreating them.</span>
              </span>
            </label>
            <label className="flex items-start gap-2">
              <input type="checkbox" className={`${CHECKBOX} mt-0.5`} checked={options.schemaOnly} onChange={(e) => setOption("schemaOnly", e.target.checked)} />
              <span>
                Schema only
                <span className="block text-xs text-zinc-500 dark:text-zinc-400">Structure without data.</span>
              </span>
            </label>
            <label className="flex items-start gap-2">
              <input type="checkbox" className={`${CHECKBOX} mt-0.5`} checked={options.dataOnly} onChange={(e) => setOption("dataOnly", e.target.checked)} />
              <span>
                Data only
                <span className="block text-xs text-zinc-500 dark:text-zinc-400">Data into the existing structure.</span>
              </span>
            </label>
            {!isMysql && (
              <label className="flex items-start gap-2">
                <input type="checkbox" className={`${CHECKBOX} mt-0.5`} checked={options.noOwner} onChange={(e) => setOption("noOwner", e.target.checked)} />
                <span>
                  Skip ownership
                  <span className="block text-xs text-zinc-500 dark:text-zinc-400">Objects belong to the restoring user (PostgreSQL --no-owner).</span>
                </span>
              </label>
            )}
            <label className="flex items-start gap-2">
              <input type="checkbox" className={`${CHECKBOX} mt-0.5`} checked={options.exitOnError} onChange={(e) => setOption("exitOnError", e.target.checked)} />
              <span>
                Stop at the first error
                <span className="block text-xs text-zinc-500 dark:text-zinc-400">Recommended; otherwise errors are logged and the restore goes on.</span>
              </span>
            </label>
          </div>
        </Step>

        <Step n={4} title="Confirm" done={confirmed}>
          {target ? (
            <div className="space-y-3 text-sm">
              <div role="note" className="rounded-lg border border-amber-300 bg-amber-50 p-3 text-amber-900 dark:border-amber-800 dark:bg-amber-950/40 dark:text-amber-200">
                This overwrites data in <strong className="font-semibold">{target.databaseName}</strong> on {target.host}:{target.port} (configured as “{target.name}”)
                {options.dropAndRecreate ? ", dropping the whole database first" : options.clean ? ", dropping the objects the backup contains first" : ""}. It cannot be undone.
              </div>
              <Field id="wizard-confirm" label={<>Type <code className="rounded bg-zinc-100 px-1 font-mono dark:bg-zinc-800">{confirmWord}</code> to confirm</>} className="max-w-sm">
                <input id="wizard-confirm" className={`${INPUT} font-mono`} autoComplete="off" spellCheck={false} value={typed} onChange={(e) => setTyped(e.target.value)} />
              </Field>
            </div>
          ) : (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">Choose a backup and a target database first.</p>
          )}
          <div aria-live="polite" className="mt-3">
            {start.isError && <ErrorState error={start.error} />}
          </div>
          <div className="mt-4 flex gap-2">
            <Link to="/restores" className={SECONDARY}>
              Cancel
            </Link>
            <button type="submit" className={BUTTON} disabled={!ready || start.isPending}>
              {start.isPending ? "Starting…" : "Start restore"}
            </button>
          </div>
        </Step>
      </form>
    </>
  );
}
