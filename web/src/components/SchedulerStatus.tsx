import { useSchedulers } from "../lib/hooks/logs.ts";
import { formatRelative } from "../lib/format.ts";

/** The scheduler's heartbeat on the dashboard: green while one is live, amber otherwise
 * (schedules do not fire without a scheduler). */
export function SchedulerStatus() {
  const { allowed, query } = useSchedulers();
  if (!allowed || query.isPending || query.isError) return null;
  const schedulers = query.data.data;
  const live = schedulers.filter((scheduler) => scheduler.live);
  const newest = schedulers[0];
  const ok = live.length > 0;
  const tone = ok
    ? "border-emerald-200 bg-emerald-50 text-emerald-900 dark:border-emerald-900 dark:bg-emerald-950/40 dark:text-emerald-200"
    : "border-amber-300 bg-amber-50 text-amber-900 dark:border-amber-800 dark:bg-amber-950/40 dark:text-amber-200";
  const detail = ok
    ? `${live.length === 1 ? "running" : `${live.length} running`} · last heartbeat ${Math.round(Math.min(...live.map((s) => s.heartbeatAgeSeconds)))} s ago`
    : newest
      ? `not heard from since ${formatRelative(newest.lastSeen)}: scheduled backups do not run`
      : "no scheduler heard from since the API started: scheduled backups do not run until one starts";
  return (
    <div role={ok ? "status" : "alert"} data-testid="scheduler-status" data-live={ok} className={`flex flex-wrap items-center gap-2 rounded-lg border px-4 py-2.5 text-sm ${tone}`}>
      <span aria-hidden="true" className={`size-2 rounded-full ${ok ? "bg-emerald-500" : "bg-amber-500"}`} />
      <span className="font-semibold">Scheduler</span>
      <span>{detail}</span>
    </div>
  );
}
