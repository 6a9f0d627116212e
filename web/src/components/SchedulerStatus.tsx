import { formatRelative } from "../lib/format.ts";
import { useSchedulers } from "../lib/hooks/logs.ts";
import { useExecutors } from "../lib/hooks/system.ts";
import { Link } from "../lib/router.tsx";

const OK_TONE = "border-emerald-200 bg-emerald-50 text-emerald-900 dark:border-emerald-900 dark:bg-emerald-950/40 dark:text-emerald-200";
const WARN_TONE = "border-amber-300 bg-amber-50 text-amber-900 dark:border-amber-800 dark:bg-amber-950/40 dark:text-amber-200";

/** How many executors are live, by queue (links to the executors page). */
function LiveExecutors() {
  const list = useExecutors();
  if (!list.data) return null;
  const live = list.data.data.filter((executor) => executor.live);
  const queues = [...new Set(live.map((executor) => executor.queue))].sort();
  return (
    <span data-testid="executors-live" className="sm:ml-auto">
      <Link to="/executors" className="font-semibold hover:underline">
        Executors
      </Link>{" "}
      {live.length === 0 ? "none live" : `${live.length} live on ${queues.join(", ")}`}
    </span>
  );
}

/** The scheduler's heartbeat on the dashboard: green while one is live, amber otherwise
 * (schedules do not fire without a scheduler); beside it, the live executors. */
export function SchedulerStatus() {
  const { allowed, query } = useSchedulers();
  if (!allowed || query.isPending || query.isError) return null;
  const schedulers = query.data.data;
  const live = schedulers.filter((scheduler) => scheduler.live);
  const newest = schedulers[0];
  const ok = live.length > 0;
  const detail = ok
    ? `${live.length === 1 ? "running" : `${live.length} running`} · last heartbeat ${Math.round(Math.min(...live.map((s) => s.heartbeatAgeSeconds)))} s ago`
    : newest
      ? `not heard from since ${formatRelative(newest.lastSeen)}: scheduled backups do not run`
      : "no scheduler heard from since the API started: scheduled backups do not run until one starts";
  return (
    <div
      role={ok ? "status" : "alert"}
      data-testid="scheduler-status"
      data-live={ok}
      className={`flex flex-wrap items-center gap-x-2 gap-y-1 rounded-lg border px-4 py-2.5 text-sm ${ok ? OK_TONE : WARN_TONE}`}
    >
      <span aria-hidden="true" className={`size-2 rounded-full ${ok ? "bg-emerald-500" : "bg-amber-500"}`} />
      <span className="font-semibold">Scheduler</span>
      <span>{detail}</span>
      <LiveExecutors />
    </div>
  );
}
