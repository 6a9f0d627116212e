import { useEffect, useState } from "react";

import { Empty, ErrorState, Loading, PageHeader } from "../components/States.tsx";
import type { DatabaseConfig, DatabaseType } from "../lib/api.ts";
import { can, useMe } from "../lib/auth.ts";
import { formatBytes, formatRelative } from "../lib/format.ts";
import { Link } from "../lib/router.tsx";
import { BUTTON, INPUT, SECONDARY, SELECT } from "../components/styles.ts";
import { useDebounced } from "../lib/hooks/common.ts";
import { useStartBackup } from "../lib/hooks/backups.ts";
import { useDatabases, useTestConnection } from "../lib/hooks/databases.ts";
import { oneOf, useUrlParams } from "../lib/urlState.ts";

const TYPE_LABEL: Record<string, string> = { postgresql: "PostgreSQL", mysql: "MySQL", mariadb: "MariaDB" };
const ENGINES: readonly DatabaseType[] = ["postgresql", "mysql"];

function DatabaseCard({ database }: { database: DatabaseConfig }) {
  const me = useMe();
  const canBackup = can(me.data?.data, "backup.execute");
  const canManage = can(me.data?.data, "database.manage");
  // The details page shows the last test of the session (the API keeps none).
  const test = useTestConnection(database);
  const backup = useStartBackup();

  return (
    <li className={`flex flex-col rounded-xl border bg-white p-4 shadow-sm dark:bg-zinc-900 ${database.overdue ? "border-red-300 dark:border-red-900" : "border-zinc-200 dark:border-zinc-800"}`} data-testid="database-card">
      <div className="flex items-start justify-between gap-2">
        <div className="min-w-0">
          <h2 className="truncate font-semibold" title={database.name}>
            <span
              aria-hidden="true"
              className={`mr-2 inline-block size-2 rounded-full align-middle ${database.overdue ? "bg-red-500" : database.enabled ? "bg-emerald-500" : "bg-zinc-400"}`}
            />
            <Link to={`/databases/${encodeURIComponent(database.id)}`} className="hover:underline" data-testid="database-details-link">
              {database.name}
            </Link>
          </h2>
          <p className="mt-1 truncate text-sm text-zinc-500 dark:text-zinc-400">
            {database.host}:{database.port} / {database.databaseName}
          </p>
        </div>
        <span className="shrink-0 rounded-full bg-zinc-100 px-2 py-0.5 text-xs font-medium text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300">
          {TYPE_LABEL[database.type] ?? database.type}
        </span>
      </div>
      <p className="mt-2 flex flex-wrap gap-x-3 text-xs text-zinc-500 dark:text-zinc-400">
        {database.dockerContainerName && <span>Container: {database.dockerContainerName}</span>}
        {database.queue && database.queue !== "default" && <span>Queue: {database.queue}</span>}
        {!database.enabled && <span>Disabled</span>}
      </p>
      {database.overdue && (
        <p className="mt-2 rounded-md bg-red-50 px-2 py-1 text-xs font-medium text-red-800 dark:bg-red-950/40 dark:text-red-300" data-testid="database-overdue">
          Backup overdue: {database.lastGoodBackupAt ? `last good backup ${formatRelative(database.lastGoodBackupAt)}` : "no successful backup yet"}
        </p>
      )}
      <div className="mt-4 flex flex-wrap items-center gap-2">
        {canBackup && (
          <button
            type="button"
            onClick={() => backup.mutate(database)}
            disabled={backup.isPending}
            className="rounded-md bg-orange-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-orange-700 disabled:cursor-not-allowed disabled:opacity-50"
          >
            {backup.isPending ? "Starting…" : "Backup now"}
          </button>
        )}
        <Link
          to={`/databases/${encodeURIComponent(database.id)}`}
          className="rounded-md border border-zinc-300 px-3 py-1.5 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800"
          aria-label={`Details of ${database.name}`}
        >
          Details
        </Link>
        {canManage && (
          <>
            <button type="button" className={SECONDARY} disabled={test.isPending} onClick={() => test.mutate()} aria-label={`Test the connection to ${database.name}`}>
              {test.isPending ? "Testing…" : "Test"}
            </button>
            <Link to={`/databases/${encodeURIComponent(database.id)}/edit`} className={SECONDARY} aria-label={`Edit ${database.name}`}>
              Edit
            </Link>
          </>
        )}
      </div>
      <div aria-live="polite" className="mt-2 space-y-1 text-sm">
        {test.data &&
          (test.data.data.connected ? (
            <p className="text-emerald-700 dark:text-emerald-400" data-testid="connection-ok">
              Connected in {test.data.data.latencyMs} ms
              {test.data.data.serverVersion && ` · ${test.data.data.serverVersion}`}
              {test.data.data.databaseSizeBytes !== null && ` · ${formatBytes(test.data.data.databaseSizeBytes)}`}
            </p>
          ) : (
            <p className="text-red-700 dark:text-red-400" data-testid="connection-failed">
              Cannot connect: {test.data.data.error ?? "unknown error"}
            </p>
          ))}
      </div>
    </li>
  );
}

/** Whether `database` matches every word of `search` in its name, host, database name or
 * container (case-insensitive). */
function matches(database: DatabaseConfig, search: string): boolean {
  const haystack = [database.name, database.host, `${database.host}:${database.port}`, database.databaseName, database.dockerContainerName ?? ""]
    .join(" ")
    .toLowerCase();
  return search
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => haystack.includes(word));
}

export function Databases() {
  // The list is not paginated (every configuration comes at once): searched here.
  const databases = useDatabases();
  const me = useMe();
  const canManage = can(me.data?.data, "database.manage");
  const [params, update] = useUrlParams();
  const [search, setSearch] = useState(params.get("q") ?? "");
  const settled = useDebounced(search, 250);
  useEffect(() => {
    const wanted = settled.trim() ? settled : "";
    if ((params.get("q") ?? "") !== wanted) update({ q: wanted || undefined });
  }, [settled, params, update]);
  const engine = oneOf(params.get("type"), ENGINES);
  const shown = (databases.data?.data ?? []).filter((database) => matches(database, search) && (!engine || database.type === engine));
  const narrowed = search.trim() !== "" || engine !== undefined;

  return (
    <>
      <PageHeader
        title="Databases"
        actions={
          canManage ? (
            <Link to="/databases/new" className={BUTTON}>
              Add database
            </Link>
          ) : null
        }
      />
      {databases.isPending ? (
        <Loading label="Loading databases…" />
      ) : databases.isError ? (
        <ErrorState error={databases.error} onRetry={() => void databases.refetch()} />
      ) : (
        <>
          {databases.data.data.length > 0 && (
            <div role="search" className="mb-4 flex flex-wrap items-center gap-3">
              <label htmlFor="database-search" className="sr-only">
                Search databases
              </label>
              <input
                id="database-search"
                type="search"
                value={search}
                onChange={(event) => setSearch(event.target.value)}
                placeholder="Search by name or host…"
                className={`${INPUT} sm:max-w-sm`}
                autoComplete="off"
              />
              <label htmlFor="database-type" className="sr-only">
                Type
              </label>
              <select id="database-type" value={engine ?? ""} onChange={(event) => update({ type: event.target.value })} className={SELECT}>
                <option value="">All types</option>
                {ENGINES.map((value) => (
                  <option key={value} value={value}>
                    {TYPE_LABEL[value]}
                  </option>
                ))}
              </select>
              <span className="text-sm text-zinc-500 dark:text-zinc-400" aria-live="polite" data-testid="database-count">
                {narrowed
                  ? `${shown.length} of ${databases.data.data.length} databases`
                  : `${databases.data.data.length} ${databases.data.data.length === 1 ? "database" : "databases"}`}
              </span>
            </div>
          )}
          {databases.data.data.length === 0 ? (
        <Empty>
          No databases configured yet.{" "}
          {canManage && (
            <Link to="/databases/new" className="font-medium text-orange-700 hover:underline dark:text-orange-400">
              Add the first one
            </Link>
          )}
        </Empty>
          ) : shown.length === 0 ? (
            <Empty>
              No database matches{search.trim() ? ` “${search.trim()}”` : ""}{engine ? ` of type ${TYPE_LABEL[engine]}` : ""}.{" "}
              <button
                type="button"
                className="font-medium text-orange-700 hover:underline dark:text-orange-400"
                onClick={() => {
                  setSearch("");
                  update({ type: undefined });
                }}
              >
                Show all
              </button>
            </Empty>
          ) : (
            <ul className="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-3">
              {shown.map((database) => (
                <DatabaseCard key={database.id} database={database} />
              ))}
            </ul>
          )}
        </>
      )}
    </>
  );
}
