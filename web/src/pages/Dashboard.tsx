import { BackupTable } from "../components/BackupTable.tsx";
import { HistoryChart } from "../components/HistoryChart.tsx";
import { Empty, ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import { DataTable } from "../components/DataTable.tsx";
import { ExecutorWarnings } from "../components/ExecutorWarnings.tsx";
import { SchedulerStatus } from "../components/SchedulerStatus.tsx";
import { OverdueBanner } from "../components/OverdueBanner.tsx";
import type { Schedule, SystemStats } from "../lib/api.ts";
import { useBackupHistory, useBackups } from "../lib/hooks/backups.ts";
import { useSchedules } from "../lib/hooks/schedules.ts";
import { useStats } from "../lib/hooks/system.ts";
import { useUrlParams } from "../lib/urlState.ts";
import { can, useMe } from "../lib/auth.ts";
import { formatBytes, formatDateTime, formatNumber, formatRelative } from "../lib/format.ts";
import { Link } from "../lib/router.tsx";

const TD = "px-3 py-2 text-sm whitespace-nowrap";

/** The next runs of the enabled schedules, soonest first (SPEC §7.2.1). */
function UpcomingSchedules() {
  const me = useMe();
  const schedules = useSchedules(undefined, { enabled: can(me.data?.data, "schedule.view") });
  if (!can(me.data?.data, "schedule.view")) return null;
  const upcoming = (schedules.data?.data ?? [])
    .filter((schedule: Schedule) => schedule.enabled && schedule.nextRunAt)
    .sort((a, b) => Date.parse(a.nextRunAt ?? "") - Date.parse(b.nextRunAt ?? ""))
    .slice(0, 5);
  return (
    <Panel title="Upcoming schedules">
      {schedules.isPending ? (
        <Loading label="Loading schedules…" />
      ) : schedules.isError ? (
        <ErrorState error={schedules.error} onRetry={() => void schedules.refetch()} />
      ) : upcoming.length === 0 ? (
        <Empty>
          Nothing is scheduled. <Link to="/schedules/new" className="text-orange-700 hover:underline dark:text-orange-400">Create a schedule</Link>{" "}
          and Lifeboat backs up by itself.
        </Empty>
      ) : (
        <DataTable columns={["Database", "Type", "Next run"]}>
          {upcoming.map((schedule) => (
            <tr key={schedule.id} data-testid="upcoming-schedule">
              <td className={`${TD} font-medium`}>{schedule.databaseName ?? "—"}</td>
              <td className={TD}>{schedule.scheduleType}</td>
              <td className={TD} title={formatDateTime(schedule.nextRunAt)}>
                {formatRelative(schedule.nextRunAt)}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </Panel>
  );
}

function statCards(stats: SystemStats): { key: string; label: string; value: string; tone?: string }[] {
  return [
    { key: "total", label: "Total backups", value: formatNumber(stats.totalBackups) },
    { key: "day", label: "Last 24h backups", value: formatNumber(stats.last24h.total) },
    {
      key: "failed",
      label: "Failed (24h)",
      value: formatNumber(stats.last24h.failed),
      tone: stats.last24h.failed > 0 ? "text-red-700 dark:text-red-400" : undefined,
    },
    { key: "size", label: "Total size", value: formatBytes(stats.totalSizeBytes) },
    {
      key: "databases",
      label: "Databases",
      value: `${formatNumber(stats.databases.enabled)} / ${formatNumber(stats.databases.total)}`,
    },
    { key: "running", label: "Running now", value: formatNumber(stats.backupsByStatus.running ?? 0) },
    { key: "restores", label: "Restores", value: formatNumber(stats.totalRestores) },
  ];
}

const HISTORY_DAYS = [7, 30, 90] as const;

/** Size and duration of the completed backups of the last days, a line per database. */
function BackupHistoryCharts() {
  const [params, update] = useUrlParams();
  const days = HISTORY_DAYS.find((value) => String(value) === params.get("days")) ?? 30;
  const history = useBackupHistory(days);
  return (
    <section aria-labelledby="history-title" className="rounded-xl border border-zinc-200 bg-white p-4 shadow-sm dark:border-zinc-800 dark:bg-zinc-900">
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2 id="history-title" className="text-sm font-semibold text-zinc-600 dark:text-zinc-300">
          Backup history
        </h2>
        <div role="group" aria-label="Period" className="inline-flex overflow-hidden rounded-md border border-zinc-300 text-sm dark:border-zinc-700">
          {HISTORY_DAYS.map((value) => (
            <button
              key={value}
              type="button"
              aria-pressed={value === days}
              onClick={() => update({ days: value === 30 ? undefined : String(value) })}
              className={`px-3 py-1 ${value === days ? "bg-orange-600 text-white" : "hover:bg-zinc-100 dark:hover:bg-zinc-800"}`}
            >
              {value} days
            </button>
          ))}
        </div>
      </div>
      {history.isPending ? (
        <Loading label="Loading backup history…" />
      ) : history.isError ? (
        <ErrorState error={history.error} onRetry={() => void history.refetch()} />
      ) : history.data.data.points.length === 0 ? (
        <Empty>No completed backups in the last {days} days.</Empty>
      ) : (
        <div className="grid gap-6 lg:grid-cols-2">
          <HistoryChart points={history.data.data.points} metric="size" title="Backup size" />
          <HistoryChart points={history.data.data.points} metric="duration" title="Backup duration" />
        </div>
      )}
      {history.data?.data.truncated && (
        <p className="mt-2 text-xs text-zinc-500 dark:text-zinc-400">Only the newest {history.data.data.points.length} backups are shown.</p>
      )}
    </section>
  );
}

export function Dashboard() {
  const stats = useStats();
  const recent = useBackups({ limit: 10 }, { idle: 15_000 });

  return (
    <>
      <PageHeader
        title="Dashboard"
        actions={
          <div className="flex gap-2">
            <Link to="/databases" className="rounded-md bg-orange-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-orange-700">
              Back up a database
            </Link>
          </div>
        }
      />
      <div className="space-y-6">
        <SchedulerStatus />
        <ExecutorWarnings />
        <OverdueBanner />
        <section aria-label="Statistics">
          {stats.isPending ? (
            <Loading label="Loading statistics…" />
          ) : stats.isError ? (
            <ErrorState error={stats.error} onRetry={() => void stats.refetch()} />
          ) : (
            <div className="grid grid-cols-2 gap-4 lg:grid-cols-4" data-testid="stats">
              {statCards(stats.data.data).map((card) => (
                <div key={card.key} className="rounded-xl border border-zinc-200 bg-white p-4 shadow-sm dark:border-zinc-800 dark:bg-zinc-900">
                  <div className="text-xs font-medium uppercase tracking-wide text-zinc-500 dark:text-zinc-400">{card.label}</div>
                  <div className={`mt-1 text-2xl font-semibold tabular-nums ${card.tone ?? ""}`}>{card.value}</div>
                </div>
              ))}
            </div>
          )}
        </section>
        <BackupHistoryCharts />
        <Panel title="Recent backups">
          {recent.isPending ? (
            <Loading label="Loading recent backups…" />
          ) : recent.isError ? (
            <ErrorState error={recent.error} onRetry={() => void recent.refetch()} />
          ) : recent.data.data.length === 0 ? (
            <Empty>No backups yet. Add a database and press “Backup now”.</Empty>
          ) : (
            <>
              <BackupTable backups={recent.data.data} compact />
              <div className="mt-3 text-right text-sm">
                <Link to="/backups" className="text-orange-700 hover:underline dark:text-orange-400">
                  All backups →
                </Link>
              </div>
            </>
          )}
        </Panel>
        <UpcomingSchedules />
      </div>
    </>
  );
}
