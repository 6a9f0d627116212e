import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";

import { BUTTON, CHECKBOX, Field, INPUT, LINK, ReadOnlyNote, SECONDARY, TD } from "../components/Form.tsx";
import { isActive, StatusBadge } from "../components/StatusBadge.tsx";
import { CancelButton } from "../components/CancelButton.tsx";
import { Empty, ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import { FilterBar, FilterDate, FilterSelect, Pagination } from "../components/ListControls.tsx";
import { useDatabases } from "../lib/hooks/databases.ts";
import { useRestore, useRestores } from "../lib/hooks/restores.ts";
import { dayBound, oneOf, pageOf, useUrlParams } from "../lib/urlState.ts";
import { api, uploadRestore, type Restore, type RestoreOptions, type RestoreSource, type S3Object, type Backup, type BackupStatus, type DatabaseConfig, type RestoreQuery, type RestoreSort, type SortOrder } from "../lib/api.ts";

type RestoreQuerySource = NonNullable<RestoreQuery["source"]>;
import { can, useMe } from "../lib/auth.ts";
import { formatBytes, formatDateTime, formatDuration, formatRelative } from "../lib/format.ts";
import { Link, navigate, useSearch } from "../lib/router.tsx";
import { DataTable, type ColumnSort } from "../components/DataTable.tsx";
import { Detail, LogView } from "../components/LogView.tsx";
import { queryKeys } from "../lib/queryKeys.ts";
import { toast } from "../lib/toast.ts";
import { useS3Configs } from "../lib/hooks/system.ts";

const PAGE_SIZE = 50;

function sourceLabel(restore: Restore): string {
  if (restore.sourceType === "s3") return restore.s3Bucket ? `S3 (${restore.s3Bucket})` : "S3";
  if (restore.sourceType === "upload") return "uploaded file";
  return restore.sourceType;
}

const RESTORE_STATUSES: readonly BackupStatus[] = ["pending", "running", "completed", "failed", "cancelled"];
const SOURCES: readonly RestoreQuerySource[] = ["local", "s3", "upload"];
const SOURCE_LABEL: Record<RestoreQuerySource, string> = { local: "Local file", s3: "S3", upload: "Uploaded file" };
const RESTORE_SORTS: { value: `${RestoreSort}:${SortOrder}`; label: string }[] = [
  { value: "startedAt:desc", label: "Newest first" },
  { value: "startedAt:asc", label: "Oldest first" },
  { value: "duration:desc", label: "Slowest first" },
  { value: "duration:asc", label: "Fastest first" },
];
const DEFAULT_SORT = "startedAt:desc";
const FILTER_KEYS = ["databaseId", "source", "status", "from", "to"] as const;

export function Restores() {
  const me = useMe();
  const canRestore = can(me.data?.data, "restore.execute");
  const [params, update] = useUrlParams();
  const page = pageOf(params);
  const databaseId = params.get("databaseId") ?? "";
  const status = oneOf(params.get("status"), RESTORE_STATUSES);
  const source = oneOf(params.get("source"), SOURCES);
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  const sortChoice = oneOf(params.get("sort"), RESTORE_SORTS.map((sort) => sort.value)) ?? DEFAULT_SORT;
  const [sort, order] = sortChoice.split(":") as [RestoreSort, SortOrder];
  const query: RestoreQuery = {
    page,
    limit: PAGE_SIZE,
    databaseId: databaseId || undefined,
    status,
    source,
    startDate: dayBound(from, "start"),
    endDate: dayBound(to, "end"),
    ...(sortChoice === DEFAULT_SORT ? {} : { sort, order }),
  };
  const restores = useRestores(query);
  // The same column again flips the order; another starts newest / slowest first.
  const sortBy = (column: RestoreSort): ColumnSort => ({
    direction: column === sort ? order : null,
    onSort: () => {
      const next = `${column}:${column === sort && order === "desc" ? "asc" : "desc"}`;
      update({ sort: next === DEFAULT_SORT ? undefined : next });
    },
  });
  const databases = useDatabases();
  const filtered = FILTER_KEYS.some((key) => params.get(key));

  return (
    <>
      <PageHeader
        title="Restores"
        actions={
          canRestore && (
            <Link to="/restore/new" className={BUTTON}>
              New restore
            </Link>
          )
        }
      />
      <FilterBar
        label="Filter restores"
        active={filtered || sortChoice !== DEFAULT_SORT}
        onClear={() => update(Object.fromEntries([...FILTER_KEYS, "sort"].map((key) => [key, undefined])))}
      >
        <FilterSelect
          id="filter-database"
          label="Into database"
          value={databaseId}
          onChange={(value) => update({ databaseId: value })}
          choices={(databases.data?.data ?? []).map((database) => ({ value: database.id, label: database.name }))}
        />
        <FilterSelect
          id="filter-source"
          label="Source"
          value={source ?? ""}
          onChange={(value) => update({ source: value })}
          choices={SOURCES.map((value) => ({ value, label: SOURCE_LABEL[value] }))}
        />
        <FilterSelect
          id="filter-status"
          label="Status"
          value={status ?? ""}
          onChange={(value) => update({ status: value })}
          choices={RESTORE_STATUSES.map((value) => ({ value, label: value }))}
        />
        <FilterDate id="filter-from" label="From" value={from} max={to || undefined} onChange={(value) => update({ from: value })} />
        <FilterDate id="filter-to" label="To" value={to} min={from || undefined} onChange={(value) => update({ to: value })} />
        <FilterSelect
          id="filter-sort"
          label="Sort"
          value={sortChoice}
          anyLabel={false}
          onChange={(value) => update({ sort: value === DEFAULT_SORT ? undefined : value })}
          choices={RESTORE_SORTS}
        />
      </FilterBar>
      <Panel>
        {restores.isPending ? (
          <Loading label="Loading restores…" />
        ) : restores.isError ? (
          <ErrorState error={restores.error} onRetry={() => void restores.refetch()} />
        ) : restores.data.data.length === 0 ? (
          <Empty>
            {filtered ? "No restores match these filters." : "No restores yet."}{" "}
            {canRestore && !filtered && (
              <Link to="/restore/new" className={LINK}>
                Restore a backup
              </Link>
            )}
          </Empty>
        ) : (
          <>
            <DataTable
              columns={[
                { label: "Started", sort: sortBy("startedAt") },
                "Into database",
                "Source",
                "Status",
                { label: "Duration", align: "right", sort: sortBy("duration") },
                "By",
                { label: "Details", srOnly: true },
              ]}
            >
              {restores.data.data.map((restore) => (
                <tr key={restore.id} data-testid="restore-row">
                  <td className={`${TD} whitespace-nowrap`} title={formatDateTime(restore.startedAt)}>
                    <Link to={`/restores/${encodeURIComponent(restore.id)}`} className={LINK}>
                      {formatDateTime(restore.startedAt)}
                    </Link>
                  </td>
                  <td className={`${TD} font-medium`}>{restore.databaseName ?? "—"}</td>
                  <td className={TD}>{sourceLabel(restore)}</td>
                  <td className={TD}>
                    <span>
                      <StatusBadge status={restore.status} />
                      {restore.status === "failed" && restore.errorMessage && (
                        <span className="mt-1 block max-w-xs truncate text-xs text-red-700 dark:text-red-400" title={restore.errorMessage}>
                          {restore.errorMessage}
                        </span>
                      )}
                    </span>
                  </td>
                  <td className={`${TD} text-right tabular-nums`}>{formatDuration(restore.durationSeconds)}</td>
                  <td className={TD}>{restore.initiatedBy ?? "—"}</td>
                  <td className={`${TD} text-right whitespace-nowrap`}>
                    <CancelButton kind="restore" id={restore.id} status={restore.status} name={restore.databaseName ?? "a deleted database"} compact />
                    <Link to={`/restores/${encodeURIComponent(restore.id)}`} className={LINK} aria-label={`Details of the restore into ${restore.databaseName ?? restore.id}`}>
                      Details
                    </Link>
                  </td>
                </tr>
              ))}
            </DataTable>
            <Pagination page={page} total={restores.data.meta.total} pageSize={PAGE_SIZE} noun="restores" onPage={(next) => update({ page: String(next) })} />
          </>
        )}
      </Panel>
    </>
  );
}

const OPTION_LABEL: Record<keyof RestoreOptions, string> = {
  dropAndRecreate: "drop and recreate",
  clean: "clean first",
  schemaOnly: "schema only",
  dataOnly: "data only",
  noOwner: "no owner",
  exitOnError: "stop at first error",
  safetyBackup: "safety backup first",
};

export function RestoreDetail({ restoreId }: { restoreId: string }) {
  const queryClient = useQueryClient();
  const restore = useRestore(restoreId);
  const status = restore.data?.data.status;
  useEffect(() => {
    if (status !== undefined && !isActive(status)) {
      void queryClient.invalidateQueries({ queryKey: queryKeys.restores() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.stats() });
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
      <PageHeader
        title={`Restore into ${r.databaseName ?? "a deleted database"}`}
        actions={
          <div className="flex flex-wrap items-center gap-2">
            <StatusBadge status={r.status} />
            <CancelButton kind="restore" id={r.id} status={r.status} name={r.databaseName ?? "a deleted database"} />
          </div>
        }
      />
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
              {r.backupExecutionId ? (
                <Link to={`/backups/${encodeURIComponent(r.backupExecutionId)}`} className={`${LINK} font-mono text-xs`} data-testid="restore-backup-link">
                  {r.backupExecutionId}
                </Link>
              ) : (
                "—"
              )}
            </Detail>
            <Detail label="Options">{options.length ? options.join(", ") : "defaults"}</Detail>
            {r.safetyBackupId && (
              <Detail label="Safety backup">
                <Link to={`/backups/${encodeURIComponent(r.safetyBackupId)}`} className={`${LINK} block font-mono text-xs`} data-testid="safety-backup-id">
                  {r.safetyBackupId}
                </Link>
                {!live && (
                  <Link to={`/restore/new?backupId=${encodeURIComponent(r.safetyBackupId)}`} className={`${LINK} text-xs`}>
                    Restore it (undo)
                  </Link>
                )}
              </Detail>
            )}
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

const DEFAULT_OPTIONS: RestoreOptions = {
  dropAndRecreate: false,
  clean: false,
  schemaOnly: false,
  dataOnly: false,
  noOwner: false,
  exitOnError: true,
  safetyBackup: true,
};

type SourceKind = "backup" | "object" | "upload";
type Engine = "postgresql" | "mysql";

const SOURCE_KINDS: { value: SourceKind; label: string; hint: string }[] = [
  { value: "backup", label: "A recorded backup", hint: "from the backup history, local or S3 copy" },
  { value: "object", label: "An object in an S3 bucket", hint: "any object of a configured bucket" },
  { value: "upload", label: "Upload a file", hint: "a backup file from this computer" },
];

/** The engine a Lifeboat-style name implies (`.dump[.zst]`: PostgreSQL, `.sql[.gz]`: MySQL). */
function engineFromName(name: string): Engine | null {
  const parts = (name.split("/").pop() ?? "").toLowerCase().split(".").slice(1);
  if (parts.includes("dump")) return "postgresql";
  if (parts.includes("sql")) return "mysql";
  return null;
}

function engineOf(db: DatabaseConfig): Engine {
  return db.type === "postgresql" ? "postgresql" : "mysql";
}

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

function ObjectPicker({ selected, onSelect }: { selected: { configId: string; key: string } | null; onSelect: (configId: string, object: S3Object) => void }) {
  const configs = useS3Configs();
  const [configId, setConfigId] = useState("");
  const [prefixInput, setPrefixInput] = useState<string | null>(null);
  const [prefix, setPrefix] = useState<string | undefined>(undefined);
  // startAfter of each page shown so far: "Previous" pops, "Next" pushes.
  const [pages, setPages] = useState<string[]>([]);
  const startAfter = pages.at(-1);
  const enabled = (configs.data?.data ?? []).filter((c) => c.enabled);
  const chosenConfig = configId || enabled[0]?.id || "";
  const listing = useQuery({
    queryKey: queryKeys.s3Objects(chosenConfig, prefix, startAfter),
    queryFn: () => api.s3Objects(chosenConfig, { prefix, startAfter, limit: 25 }),
    enabled: chosenConfig !== "",
    placeholderData: keepPreviousData,
    retry: false,
  });
  if (configs.isPending) return <Loading label="Loading S3 configurations…" />;
  if (configs.isError) return <ErrorState error={configs.error} onRetry={() => void configs.refetch()} />;
  if (enabled.length === 0)
    return (
      <Empty>
        No enabled S3 configuration.{" "}
        <Link to="/s3-configs/new" className={LINK}>
          Add one
        </Link>
      </Empty>
    );
  const shownPrefix = prefixInput ?? listing.data?.data.prefix ?? "";
  const browse = () => {
    setPrefix(shownPrefix);
    setPages([]);
  };
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-end gap-3">
        <Field id="wizard-s3-config" label="Bucket" className="min-w-56">
          <select
            id="wizard-s3-config"
            className={INPUT}
            value={chosenConfig}
            onChange={(e) => {
              setConfigId(e.target.value);
              setPrefix(undefined);
              setPrefixInput(null);
              setPages([]);
            }}
          >
            {enabled.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} — {c.bucket}
              </option>
            ))}
          </select>
        </Field>
        {/* Not a <form>: the wizard is one already. Enter in the prefix browses. */}
        <div className="flex items-end gap-2">
          <Field id="wizard-s3-prefix" label="Prefix" className="min-w-64">
            <input
              id="wizard-s3-prefix"
              className={`${INPUT} font-mono`}
              value={shownPrefix}
              spellCheck={false}
              onChange={(e) => setPrefixInput(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter") {
                  e.preventDefault();
                  browse();
                }
              }}
            />
          </Field>
          <button type="button" className={SECONDARY} onClick={browse}>
            Browse
          </button>
        </div>
      </div>
      {listing.isPending ? (
        <Loading label="Listing the bucket…" />
      ) : listing.isError ? (
        <ErrorState error={listing.error} onRetry={() => void listing.refetch()} />
      ) : listing.data.data.objects.length === 0 ? (
        <Empty>No objects under this prefix.</Empty>
      ) : (
        <fieldset>
          <legend className="sr-only">Object to restore</legend>
          <ul className="max-h-80 divide-y divide-zinc-100 overflow-auto rounded-lg border border-zinc-200 dark:divide-zinc-800/60 dark:border-zinc-800">
            {listing.data.data.objects.map((object) => {
              const isSelected = selected?.configId === chosenConfig && selected.key === object.key;
              return (
                <li key={object.key}>
                  <label className={`flex cursor-pointer items-center gap-3 px-3 py-2 text-sm hover:bg-zinc-50 dark:hover:bg-zinc-800/60 ${isSelected ? "bg-orange-50 dark:bg-orange-950/30" : ""}`}>
                    <input type="radio" name="s3-object" className="accent-orange-600" checked={isSelected} onChange={() => onSelect(chosenConfig, object)} data-testid="object-choice" />
                    <span className="min-w-0 flex-1 truncate font-mono text-xs" title={object.key}>
                      {object.key}
                    </span>
                    <span className="shrink-0 text-xs text-zinc-500 tabular-nums dark:text-zinc-400">
                      {formatBytes(object.size)}
                      {object.lastModified && ` · ${formatRelative(object.lastModified)}`}
                    </span>
                    {object.hasManifest ? (
                      <span className="shrink-0 rounded-full bg-emerald-100 px-2 py-0.5 text-xs text-emerald-800 dark:bg-emerald-950/60 dark:text-emerald-300">manifest</span>
                    ) : (
                      <span className="shrink-0 rounded-full bg-amber-100 px-2 py-0.5 text-xs text-amber-900 dark:bg-amber-950/60 dark:text-amber-300" title="No Lifeboat manifest: its checksum cannot be verified">
                        no manifest
                      </span>
                    )}
                  </label>
                </li>
              );
            })}
          </ul>
        </fieldset>
      )}
      <div className="flex gap-2 text-sm">
        <button type="button" className={SECONDARY} disabled={pages.length === 0} onClick={() => setPages((p) => p.slice(0, -1))}>
          Previous
        </button>
        <button
          type="button"
          className={SECONDARY}
          disabled={!listing.data?.data.truncated || !listing.data.data.nextStartAfter}
          onClick={() => {
            const next = listing.data?.data.nextStartAfter;
            if (next) setPages((p) => [...p, next]);
          }}
        >
          Next
        </button>
      </div>
    </div>
  );
}

function UploadPicker({
  file,
  manifest,
  onFile,
  onManifest,
}: {
  file: File | null;
  manifest: File | null;
  onFile: (file: File | null) => void;
  onManifest: (file: File | null) => void;
}) {
  return (
    <div className="grid gap-4 sm:grid-cols-2">
      <Field id="wizard-upload-file" label="Backup file">
        <input
          id="wizard-upload-file"
          type="file"
          className="block w-full text-sm file:mr-3 file:rounded-md file:border-0 file:bg-zinc-100 file:px-3 file:py-1.5 file:text-sm dark:file:bg-zinc-800"
          onChange={(e) => onFile(e.target.files?.[0] ?? null)}
        />
        {file && (
          <span className="mt-1 block text-xs text-zinc-500 dark:text-zinc-400">
            {file.name} · {formatBytes(file.size)}
          </span>
        )}
      </Field>
      <Field id="wizard-upload-manifest" label="Its manifest (optional)">
        <input
          id="wizard-upload-manifest"
          type="file"
          accept=".json,application/json"
          className="block w-full text-sm file:mr-3 file:rounded-md file:border-0 file:bg-zinc-100 file:px-3 file:py-1.5 file:text-sm dark:file:bg-zinc-800"
          onChange={(e) => onManifest(e.target.files?.[0] ?? null)}
        />
        <span className="mt-1 block text-xs text-zinc-500 dark:text-zinc-400">
          The <code className="font-mono">.manifest.json</code> Lifeboat wrote beside the file: with it the checksum is verified.
          {manifest && ` Selected: ${manifest.name}.`}
        </span>
      </Field>
    </div>
  );
}

function BackupPicker({ databases, selected, onSelect }: { databases: DatabaseConfig[]; selected: string; onSelect: (backup: Backup) => void }) {
  const [databaseId, setDatabaseId] = useState("");
  const filters = { status: "completed" as const, limit: 20, databaseId: databaseId || undefined };
  const backups = useQuery({ queryKey: queryKeys.backups(filters), queryFn: () => api.backups(filters), placeholderData: keepPreviousData });
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
  const isAdmin = me.data?.data.role === "admin";
  const queryClient = useQueryClient();
  const params = new URLSearchParams(useSearch());
  const [kind, setKind] = useState<SourceKind>("backup");
  const [backupId, setBackupId] = useState(params.get("backupId") ?? "");
  const [picked, setPicked] = useState<Backup | null>(null);
  const [object, setObject] = useState<{ configId: string; object: S3Object } | null>(null);
  const [file, setFile] = useState<File | null>(null);
  const [manifestFile, setManifestFile] = useState<File | null>(null);
  const [confirmUnverified, setConfirmUnverified] = useState(false);
  const [progress, setProgress] = useState<{ sent: number; total: number } | null>(null);
  const [targetId, setTargetId] = useState("");
  const [source, setSource] = useState<RestoreSource>("auto");
  const [options, setOptions] = useState<RestoreOptions>(DEFAULT_OPTIONS);
  const [typed, setTyped] = useState("");

  const databases = useDatabases();
  const given = useQuery({
    queryKey: queryKeys.backup(backupId),
    queryFn: () => api.backup(backupId),
    enabled: kind === "backup" && backupId !== "" && picked?.id !== backupId,
    retry: false,
  });
  const backup: Backup | null = kind !== "backup" ? null : picked?.id === backupId ? picked : given.data?.data ?? null;
  const all = databases.data?.data ?? [];
  const sourceDb = backup ? all.find((db) => db.id === backup.databaseConfigId) : undefined;
  // The engine the source needs; null: unknown (an object or a file with an unusual name).
  const engine: Engine | null =
    kind === "backup" ? (sourceDb ? engineOf(sourceDb) : null) : kind === "object" ? (object ? engineFromName(object.object.key) : null) : file ? engineFromName(file.name) : null;
  const sourceChosen = kind === "backup" ? backup !== null : kind === "object" ? object !== null : file !== null;
  const targets = !sourceChosen ? [] : kind === "backup" ? (sourceDb ? all.filter((db) => db.type === sourceDb.type) : []) : engine ? all.filter((db) => engineOf(db) === engine) : all;
  const target = targets.find((db) => db.id === targetId);
  const unverified = (kind === "object" && object !== null && !object.object.hasManifest) || (kind === "upload" && file !== null && manifestFile === null);

  // Default target, once per chosen backup: its own database when that can take a restore.
  const defaulted = useRef("");
  useEffect(() => {
    if (!backup || defaulted.current === backup.id || all.length === 0) return;
    defaulted.current = backup.id;
    const own = all.find((db) => db.id === backup.databaseConfigId && db.enabled);
    if (own && !targetId) setTargetId(own.id);
  }, [backup, all, targetId]);

  const start = useMutation({
    mutationFn: () => {
      const allow = unverified && confirmUnverified;
      if (kind === "upload" && file) {
        setProgress({ sent: 0, total: file.size });
        return uploadRestore({ databaseId: targetId, file, manifest: manifestFile, options, confirmUnverified: allow }, (sent, total) => setProgress({ sent, total }));
      }
      if (kind === "object" && object && target) {
        const s3Object = { s3ConfigId: object.configId, key: object.object.key, ...(object.object.hasManifest ? {} : { engine: engineOf(target) }) };
        return api.createRestore({ databaseId: targetId, s3Object, options, ...(allow ? { allowUnverified: true } : {}) });
      }
      return api.createRestore({ databaseId: targetId, backupId, source, options });
    },
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.restores() });
      toast.success(`Restore into ${target?.name ?? created.data.databaseName ?? "the database"} queued.`);
      navigate(`/restores/${encodeURIComponent(created.data.id)}`);
    },
    onError: (error) => toast.error(`The restore could not start: ${error.message}`),
    onSettled: () => setProgress(null),
  });

  const setOption = (key: keyof RestoreOptions, value: boolean) =>
    setOptions((o) => {
      const next = { ...o, [key]: value };
      // Schema only and data only exclude each other.
      if (key === "schemaOnly" && value) next.dataOnly = false;
      if (key === "dataOnly" && value) next.schemaOnly = false;
      return next;
    });

  const resetTarget = () => {
    setTargetId("");
    setTyped("");
  };
  const localOk = backup ? hasLocal(backup) : false;
  const s3Ok = backup ? hasS3(backup) : false;
  const confirmWord = target?.databaseName ?? "";
  const confirmed = confirmWord !== "" && typed === confirmWord;
  const vouched = !unverified || (isAdmin && confirmUnverified);
  const ready = sourceChosen && target !== undefined && target.enabled && confirmed && canRestore && vouched;
  const isMysql = engine === "mysql" || (target !== undefined && engineOf(target) === "mysql");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (ready) start.mutate();
  };

  return (
    <>
      <PageHeader title="Restore a backup" />
      {me.data && !canRestore && <ReadOnlyNote>Your role cannot start restores.</ReadOnlyNote>}
      <form onSubmit={submit} className="space-y-4" noValidate>
        <Step n={1} title="Choose what to restore" done={sourceChosen}>
          <fieldset className="mb-4">
            <legend className="sr-only">Restore from</legend>
            <div className="grid gap-2 sm:grid-cols-3" role="radiogroup">
              {SOURCE_KINDS.map((k) => (
                <label
                  key={k.value}
                  className={`flex cursor-pointer items-start gap-2 rounded-lg border px-3 py-2 text-sm ${
                    kind === k.value ? "border-orange-500 bg-orange-50 dark:border-orange-700 dark:bg-orange-950/30" : "border-zinc-200 dark:border-zinc-800"
                  }`}
                >
                  <input
                    type="radio"
                    name="source-kind"
                    value={k.value}
                    className="mt-0.5 accent-orange-600"
                    checked={kind === k.value}
                    onChange={() => {
                      setKind(k.value);
                      setConfirmUnverified(false);
                      resetTarget();
                    }}
                  />
                  <span>
                    <span className="font-medium">{k.label}</span>
                    <span className="block text-xs text-zinc-500 dark:text-zinc-400">{k.hint}</span>
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
          {kind === "object" ? (
            <ObjectPicker
              selected={object ? { configId: object.configId, key: object.object.key } : null}
              onSelect={(configId, o) => {
                setObject({ configId, object: o });
                setConfirmUnverified(false);
                resetTarget();
              }}
            />
          ) : kind === "upload" ? (
            <UploadPicker
              file={file}
              manifest={manifestFile}
              onFile={(f) => {
                setFile(f);
                setConfirmUnverified(false);
                resetTarget();
              }}
              onManifest={setManifestFile}
            />
          ) : backup ? (
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
                  resetTarget();
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
                  resetTarget();
                  setSource("auto");
                }}
              />
            </>
          )}
          {unverified && (
            <div role="alert" className="mt-4 rounded-lg border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-900 dark:bg-red-950/40 dark:text-red-200" data-testid="unverified-warning">
              <p className="font-semibold">Nothing vouches for this {kind === "upload" ? "file" : "object"}.</p>
              <p className="mt-1">
                {kind === "upload" ? "No manifest was given" : "It has no Lifeboat manifest"}, so no checksum can be verified: Lifeboat cannot tell where it came from or whether it
                was altered, and restoring runs whatever it contains against the target. Its size is checked and its decompressed size capped.
              </p>
              {isAdmin ? (
                <label className="mt-2 flex items-start gap-2 font-medium">
                  <input type="checkbox" className={`${CHECKBOX} mt-0.5`} checked={confirmUnverified} onChange={(e) => setConfirmUnverified(e.target.checked)} data-testid="confirm-unverified" />
                  I trust its origin: restore it without a verified checksum
                </label>
              ) : (
                <p className="mt-2 font-medium">Only an admin may restore it.{kind === "upload" ? " Add its manifest to restore it verified." : ""}</p>
              )}
            </div>
          )}
        </Step>

        <Step n={2} title="Choose the target database" done={target !== undefined && target.enabled}>
          {!sourceChosen ? (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">Choose what to restore first.</p>
          ) : targets.length === 0 ? (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">No configured database of the same engine ({engine ?? "unknown"}).</p>
          ) : (
            <div className="grid gap-4 sm:grid-cols-2">
              <Field
                id="wizard-target"
                label={engine ? `Restore into (${engine} databases)` : "Restore into"}
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
              {kind === "backup" && (
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
              )}
            </div>
          )}
        </Step>

        <Step n={3} title="Options">
          <label className="mb-3 flex items-start gap-2 rounded-lg border border-emerald-200 bg-emerald-50/60 p-3 text-sm dark:border-emerald-900 dark:bg-emerald-950/30">
            <input type="checkbox" className={`${CHECKBOX} mt-0.5`} checked={options.safetyBackup ?? false} onChange={(e) => setOption("safetyBackup", e.target.checked)} data-testid="safety-backup" />
            <span>
              <span className="font-medium">Take a safety backup of the target first</span>
              <span className="block text-xs text-zinc-500 dark:text-zinc-400">
                A full backup of the target as it is now (type pre-restore, stored locally) before anything is touched; if it fails, the restore does not start. Restore it to undo.
              </span>
            </span>
          </label>
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
                {options.dropAndRecreate ? ", dropping the whole database first" : options.clean ? ", dropping the objects the backup contains first" : ""}.{" "}
                {options.safetyBackup ? "A safety backup of it is taken first." : "It cannot be undone."}
              </div>
              <Field id="wizard-confirm" label={<>Type <code className="rounded bg-zinc-100 px-1 font-mono dark:bg-zinc-800">{confirmWord}</code> to confirm</>} className="max-w-sm">
                <input id="wizard-confirm" className={`${INPUT} font-mono`} autoComplete="off" spellCheck={false} value={typed} onChange={(e) => setTyped(e.target.value)} />
              </Field>
            </div>
          ) : (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">Choose what to restore and a target database first.</p>
          )}
          {progress && (
            <div className="mt-3 max-w-md text-sm" data-testid="upload-progress">
              <progress className="h-2 w-full accent-orange-600" value={progress.sent} max={Math.max(progress.total, 1)} aria-label="Upload progress" />
              <p className="mt-1 text-xs text-zinc-500 tabular-nums dark:text-zinc-400">
                {progress.sent >= progress.total
                  ? "Uploaded; the API is checking the file…"
                  : `Uploading ${formatBytes(progress.sent)} of ${formatBytes(progress.total)} (${Math.floor((100 * progress.sent) / Math.max(progress.total, 1))}%)`}
              </p>
            </div>
          )}
          <div aria-live="polite" className="mt-3">
            {start.isError && <ErrorState error={start.error} />}
          </div>
          <div className="mt-4 flex gap-2">
            <Link to="/restores" className={SECONDARY}>
              Cancel
            </Link>
            <button type="submit" className={BUTTON} disabled={!ready || start.isPending}>
              {start.isPending ? (kind === "upload" ? "Uploading…" : "Starting…") : "Start restore"}
            </button>
          </div>
        </Step>
      </form>
    </>
  );
}
