import { DataTable } from "../components/DataTable.tsx";
import { ExecutorWarnings } from "../components/ExecutorWarnings.tsx";
import { LINK, TD } from "../components/Form.tsx";
import { Empty, ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import type { Executor, RunningJob } from "../lib/api.ts";
import { formatDateTime, formatRelative } from "../lib/format.ts";
import { Link } from "../lib/router.tsx";
import { useExecutors } from "../lib/hooks/system.ts";

const BADGE = "inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium";

function LiveBadge({ executor }: { executor: Executor }) {
  const [label, tone, hint] = executor.live
    ? ["live", "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-300", "Heard from within three heartbeats"]
    : executor.stopping
      ? ["stopped", "bg-zinc-200 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300", "Its last heartbeat said it was shutting down"]
      : ["stale", "bg-amber-100 text-amber-800 dark:bg-amber-900/40 dark:text-amber-300", "No heartbeat for more than three intervals"];
  return (
    <span className={`${BADGE} ${tone}`} title={hint} data-testid="executor-live">
      {executor.live && <span aria-hidden="true" className="size-1.5 rounded-full bg-current" />}
      {label}
    </span>
  );
}

function Tools({ tools }: { tools: Record<string, string | null> }) {
  return (
    <ul className="flex max-w-md flex-wrap gap-1" aria-label="Client tools">
      {Object.entries(tools).map(([name, version]) =>
        version === null ? (
          <li
            key={name}
            title={`${name} is not installed on this executor`}
            className="rounded border border-red-300 px-1.5 py-0.5 text-xs font-medium text-red-800 line-through dark:border-red-800 dark:text-red-300"
            data-testid="tool-missing"
          >
            {name}
            <span className="sr-only"> (missing)</span>
          </li>
        ) : (
          <li
            key={name}
            title={version}
            className="rounded border border-emerald-300 px-1.5 py-0.5 text-xs font-medium text-emerald-800 dark:border-emerald-800 dark:text-emerald-300"
            data-testid="tool-found"
          >
            {name}
          </li>
        ),
      )}
    </ul>
  );
}

function Job({ job }: { job: RunningJob }) {
  const what = job.kind ? `${job.kind} of ${job.databaseName ?? "a deleted database"}` : job.id;
  const to = job.kind === "backup" ? `/backups/${encodeURIComponent(job.id)}` : job.kind === "restore" ? `/restores/${encodeURIComponent(job.id)}` : null;
  return (
    <li data-testid="running-job" className="whitespace-nowrap">{to ? <Link to={to} className={LINK}>{what}</Link> : <span className="font-mono text-xs">{what}</span>}</li>
  );
}

export function Executors() {
  const list = useExecutors();
  return (
    <>
      <PageHeader title="Executors" />
      <div className="space-y-6">
        <ExecutorWarnings linkToExecutors={false} />
        <Panel>
          {list.isPending ? (
            <Loading label="Loading executors…" />
          ) : list.isError ? (
            <ErrorState error={list.error} onRetry={() => void list.refetch()} />
          ) : list.data.data.length === 0 ? (
            <Empty>
              No executor has been heard from in the last ten minutes. Start one (<code className="font-mono">python -m lifeboat.executor</code>
              ) with the same <code className="font-mono">NATS_URL</code>; it shows here within seconds.
            </Empty>
          ) : (
            <DataTable columns={["Executor", "Queue", "State", "Tools", "Running jobs", "Last seen", "Started"]}>
              {list.data.data.map((executor) => (
                <tr key={executor.id} data-testid="executor-row" className="align-top">
                  <td className={TD}>
                    <div className="font-medium whitespace-nowrap">{executor.id}</div>
                    <div className="text-xs text-zinc-500 dark:text-zinc-400">v{executor.version}</div>
                  </td>
                  <td className={`${TD} font-mono`}>{executor.queue}</td>
                  <td className={TD}>
                    <LiveBadge executor={executor} />
                  </td>
                  <td className={TD}>
                    <Tools tools={executor.tools} />
                  </td>
                  <td className={TD}>
                    <span className="tabular-nums text-zinc-500 dark:text-zinc-400" title="running / concurrency">
                      {executor.runningJobs.length} / {executor.concurrency}
                    </span>
                    {executor.runningJobs.length > 0 && (
                      <ul className="mt-1 space-y-0.5">
                        {executor.runningJobs.map((job) => (
                          <Job key={job.id} job={job} />
                        ))}
                      </ul>
                    )}
                  </td>
                  <td className={`${TD} whitespace-nowrap`} title={formatDateTime(executor.lastSeen)}>
                    {formatRelative(executor.lastSeen)}
                  </td>
                  <td className={`${TD} whitespace-nowrap`} title={formatDateTime(executor.startedAt)}>
                    {formatRelative(executor.startedAt)}
                  </td>
                </tr>
              ))}
            </DataTable>
          )}
        </Panel>
      </div>
    </>
  );
}
