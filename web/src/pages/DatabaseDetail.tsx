import { useQuery, useQueryClient } from "@tanstack/react-query";

import { BackupTable } from "../components/BackupTable.tsx";
import { DataTable } from "../components/DataTable.tsx";
import { BUTTON, DANGER, LINK, SECONDARY, TD, formatInZone } from "../components/Form.tsx";
import { Detail } from "../components/LogView.tsx";
import { isActive } from "../components/StatusBadge.tsx";
import { VerificationTarget } from "../components/Verification.tsx";
import { Empty, ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import { api, ApiError, type DatabaseDetail as DatabaseRecord } from "../lib/api.ts";
import { can, useMe } from "../lib/auth.ts";
import { formatBytes, formatDateTime, formatRelative } from "../lib/format.ts";
import { Link, navigate } from "../lib/router.tsx";
import { queryKeys } from "../lib/queryKeys.ts";
import { useStartBackup } from "../lib/hooks/backups.ts";
import { useDeleteDatabase, useTestConnection, type StoredTest } from "../lib/hooks/databases.ts";

const TYPE_LABEL: Record<string, string> = { postgresql: "PostgreSQL", mysql: "MySQL", mariadb: "MariaDB" };
const MUTED = "text-zinc-500 dark:text-zinc-400";
const RECENT = 10;

export type { StoredTest };

function ConnectionTestResult({ test, lastBackup }: { test: StoredTest | undefined; lastBackup: { status: string; at: string } | null }) {
  if (!test) {
    return (
      <p className={`text-sm ${MUTED}`} data-testid="connection-untested">
        Not tested yet in this session.
        {lastBackup && (
          <>
            {" "}
            The last backup {lastBackup.status === "completed" ? "succeeded" : lastBackup.status === "failed" ? "failed" : `is ${lastBackup.status}`}{" "}
            {formatRelative(lastBackup.at)}.
          </>
        )}
      </p>
    );
  }
  const r = test.result;
  return r.connected ? (
    <div className="text-sm text-emerald-700 dark:text-emerald-400" data-testid="connection-ok">
      <p className="font-medium">Connected in {r.latencyMs} ms</p>
      <p className={`text-xs ${MUTED}`}>
        {[r.serverVersion, r.databaseSizeBytes !== null ? `database ${formatBytes(r.databaseSizeBytes)}` : null, r.executorId ? `via ${r.executorId}` : null]
          .filter(Boolean)
          .join(" · ")}
        {" · "}tested {formatRelative(test.at)}
      </p>
    </div>
  ) : (
    <div className="text-sm text-red-700 dark:text-red-400" data-testid="connection-failed">
      <p className="font-medium">Cannot connect</p>
      <p className="break-words whitespace-pre-wrap">{r.error ?? "unknown error"}</p>
      <p className={`text-xs ${MUTED}`}>tested {formatRelative(test.at)}</p>
    </div>
  );
}

function DatabaseSchedules({ databaseId, canManage }: { databaseId: string; canManage: boolean }) {
  const schedules = useQuery({
    queryKey: queryKeys.schedules({ databaseId }),
    queryFn: () => api.schedules(databaseId),
    refetchInterval: 60_000,
  });
  const me = useMe();
  const policies = useQuery({
    queryKey: queryKeys.retentionPolicies(),
    queryFn: api.policies,
    enabled: can(me.data?.data, "retention.view"),
  });
  const names = new Map((policies.data?.data ?? []).map((p) => [p.id, p.name]));
  if (schedules.isPending) return <Loading label="Loading schedules…" />;
  if (schedules.isError) return <ErrorState error={schedules.error} onRetry={() => void schedules.refetch()} />;
  const rows = schedules.data.data;
  if (rows.length === 0) {
    return (
      <Empty>
No schedule backs this database up.</Empty>
    );
  }
  return (
    <DataTable columns={["Type", "Cron", "Time zone", "Status", "Next run", "Retention", { label: "Actions", srOnly: true }]}>
      {rows.map((s) => (
        <tr key={s.id} data-testid="database-schedule-row">
          <td className={`${TD} capitalize`}>{s.scheduleType}</td>
          <td className={`${TD} font-mono text-xs whitespace-nowrap`}>{s.cronExpression}</td>
          <td className={`${TD} whitespace-nowrap`}>{s.timezone}</td>
          <td className={TD}>
            <span
              className={`rounded-full px-2 py-0.5 text-xs font-medium ${
                s.enabled
                  ? "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-300"
                  : "bg-zinc-200 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300"
              }`}
            >
              {s.enabled ? "enabled" : "paused"}
            </span>
          </td>
          <td className={`${TD} whitespace-nowrap`}>
            {s.nextRunAt ? (
              <span title={formatInZone(s.nextRunAt, s.timezone)}>
                {formatRelative(s.nextRunAt)}
                <span className={`block text-xs ${MUTED}`}>{formatInZone(s.nextRunAt, s.timezone)}</span>
              </span>
            ) : (
              <span className={MUTED}>—</span>
            )}
          </td>
          <td className={TD}>
            {s.retentionPolicyId ? (names.get(s.retentionPolicyId) ?? <span className={MUTED}>a policy</span>) : <span className={MUTED}>none</span>}
          </td>
          <td className={`${TD} text-right`}>
            {canManage && (
              <Link to={`/schedules/${encodeURIComponent(s.id)}/edit`} className={LINK} aria-label={`Edit the ${s.scheduleType} schedule`}>
                Edit
              </Link>
            )}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

function Body({ database }: { database: DatabaseRecord }) {
  const queryClient = useQueryClient();
  const me = useMe();
  const user = me.data?.data;
  const canManage = can(user, "database.manage");
  const canBackup = can(user, "backup.execute");
  const canSchedule = can(user, "schedule.manage");

  const filters = { databaseId: database.id, limit: RECENT };
  const backups = useQuery({
    queryKey: queryKeys.backups(filters),
    queryFn: () => api.backups(filters),
    refetchInterval: (query) => (query.state.data?.data.some((b) => isActive(b.status)) ? 2_000 : 30_000),
  });
  const lastTest = useQuery<StoredTest>({
    queryKey: queryKeys.connectionTest(database.id),
    queryFn: () => Promise.reject(new Error("not tested")),
    enabled: false,
    staleTime: Infinity,
    gcTime: Infinity,
  });
  const test = useTestConnection(database);
  // The page says "Backup started. Follow it" itself.
  const backup = useStartBackup({ quiet: true });
  const remove = useDeleteDatabase(() => {
    queryClient.removeQueries({ queryKey: queryKeys.database(database.id) });
    void queryClient.invalidateQueries({ queryKey: queryKeys.schedules() });
    navigate("/databases");
  });

  const newest = backups.data?.data[0];
  const lastBackup = newest ? { status: newest.status, at: newest.completedAt ?? newest.startedAt } : null;
  const total = backups.data?.meta.total;

  return (
    <>
      <p className="mb-2 text-sm">
        <Link to="/databases" className={LINK}>
          ← Databases
        </Link>
      </p>
      <PageHeader
        title={database.name}
        actions={
          <div className="flex flex-wrap items-center gap-2">
            {canBackup && (
              <button type="button" className={BUTTON} disabled={backup.isPending || !database.enabled} onClick={() => backup.mutate(database)} title={database.enabled ? undefined : "The database is disabled"}>
                {backup.isPending ? "Starting…" : "Backup now"}
              </button>
            )}
            {canManage && (
              <>
                <Link to={`/databases/${encodeURIComponent(database.id)}/edit`} className={SECONDARY}>
                  Edit
                </Link>
                <button
                  type="button"
                  className={DANGER}
                  disabled={remove.isPending}
                  onClick={() => {
                    if (window.confirm(`Delete "${database.name}" with its schedules and backup records? Backup files stay on disk.`)) remove.mutate(database);
                  }}
                >
                  {remove.isPending ? "Deleting…" : "Delete"}
                </button>
              </>
            )}
          </div>
        }
      />
      <div className="space-y-6" data-testid="database-detail">
        <div aria-live="polite" className="space-y-1 text-sm empty:hidden">
          {backup.isSuccess && (
            <p className="text-emerald-700 dark:text-emerald-400" data-testid="backup-started">
              Backup started.{" "}
              <Link to={`/backups/${encodeURIComponent(backup.data.data.id)}`} className={LINK}>
                Follow it
              </Link>
            </p>
          )}
        </div>
        <div className="grid gap-6 lg:grid-cols-3">
          <div className="lg:col-span-2">
            <Panel title="Connection">
              <dl className="grid gap-4 sm:grid-cols-2">
                <Detail label="Type">{TYPE_LABEL[database.type] ?? database.type}</Detail>
                <Detail label="Host">
                  <span className="font-mono text-sm break-all" data-testid="database-host">
                    {database.host}:{database.port}
                  </span>
                </Detail>
                <Detail label="Database name">
                  <span className="font-mono text-sm break-all">{database.databaseName}</span>
                </Detail>
                <Detail label="User">
                  <span className="font-mono text-sm break-all">{database.username}</span>
                  <span className={`block text-xs ${MUTED}`}>{database.hasPassword ? "password set (never shown)" : "no password"}</span>
                </Detail>
                <Detail label="Enabled">
                  <span className="inline-flex items-center gap-2">
                    <span aria-hidden="true" className={`inline-block size-2 rounded-full ${database.enabled ? "bg-emerald-500" : "bg-zinc-400"}`} />
                    {database.enabled ? "yes: backups run" : "no: backups are refused"}
                  </span>
                </Detail>
                <Detail label="Executor queue">{database.queue ?? "default"}</Detail>
                <Detail label="Verification restores" className="sm:col-span-2">
                  <VerificationTarget database={database} />
                </Detail>
                {database.dockerContainerName && <Detail label="Docker container">{database.dockerContainerName}</Detail>}
                <Detail label="Added">
                  {formatDateTime(database.createdAt)}
                  {database.updatedAt !== database.createdAt && <span className={`block text-xs ${MUTED}`}>changed {formatRelative(database.updatedAt)}</span>}
                </Detail>
              </dl>
            </Panel>
          </div>
          <Panel title="Connection test">
            <div aria-live="polite" className="space-y-3">
              {test.isPending ? (
                <p className={`text-sm ${MUTED}`}>Asking an executor of queue “{database.queue ?? "default"}” to connect…</p>
              ) : test.isError ? (
                <p className="text-sm text-red-700 dark:text-red-400" data-testid="connection-failed">
                  {test.error.message}
                </p>
              ) : (
                <ConnectionTestResult test={lastTest.data} lastBackup={lastBackup} />
              )}
              {canManage && (
                <button type="button" className={SECONDARY} disabled={test.isPending} onClick={() => test.mutate()}>
                  {test.isPending ? "Testing…" : "Test connection"}
                </button>
              )}
            </div>
          </Panel>
        </div>
        <Panel title="Recent backups">
          {backups.isPending ? (
            <Loading label="Loading backups…" />
          ) : backups.isError ? (
            <ErrorState error={backups.error} onRetry={() => void backups.refetch()} />
          ) : backups.data.data.length === 0 ? (
            <Empty>No backups of this database yet.</Empty>
          ) : (
            <>
              <BackupTable backups={backups.data.data} showDatabase={false} />
              <p className="mt-3 text-sm">
                <Link to={`/backups?databaseId=${encodeURIComponent(database.id)}`} className={LINK}>
                  {total != null && total > backups.data.data.length ? `All ${total} backups of this database` : "In the backup history"} →
                </Link>
              </p>
            </>
          )}
        </Panel>
        <Panel title="Schedules">
          <DatabaseSchedules databaseId={database.id} canManage={canSchedule} />
          {canSchedule && (
            <p className="mt-3 text-sm">
              <Link to={`/schedules/new?databaseId=${encodeURIComponent(database.id)}`} className={LINK}>
                New schedule for this database
              </Link>
            </p>
          )}
        </Panel>
      </div>
    </>
  );
}

export function DatabaseDetail({ databaseId }: { databaseId: string }) {
  const database = useQuery({
    queryKey: queryKeys.database(databaseId),
    queryFn: () => api.database(databaseId),
    retry: (count, error) => !(error instanceof ApiError && error.status === 404) && count < 2,
  });
  if (database.isPending) return <Loading label="Loading database…" />;
  if (database.isError) {
    const missing = database.error instanceof ApiError && database.error.status === 404;
    return (
      <>
        <p className="mb-2 text-sm">
          <Link to="/databases" className={LINK}>
            ← Databases
          </Link>
        </p>
        <ErrorState
          error={missing ? new Error("This database does not exist (or was deleted).") : database.error}
          onRetry={missing ? undefined : () => void database.refetch()}
        />
      </>
    );
  }
  return <Body database={database.data.data} />;
}
