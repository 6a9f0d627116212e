import { useQuery } from "@tanstack/react-query";

import { can, useMe } from "../lib/auth.ts";
import { api, type QueueWarning } from "../lib/api.ts";
import { Link } from "../lib/router.tsx";
import { queryKeys } from "../lib/queryKeys.ts";

/** A banner per queue some enabled database uses that no live executor serves: their backups
 * and restores would wait in the queue until one starts. Nothing when all is well. */
export function ExecutorWarnings({ linkToExecutors = true }: { linkToExecutors?: boolean }) {
  const me = useMe();
  const allowed = can(me.data?.data, "system.view");
  const warnings = useQuery({
    queryKey: queryKeys.executorWarnings(),
    queryFn: api.executorWarnings,
    refetchInterval: 10_000,
    enabled: allowed,
  });
  const list: QueueWarning[] = warnings.data?.data ?? [];
  if (!allowed || list.length === 0) return null;
  return (
    <div
      role="alert"
      data-testid="executor-warning"
      className="rounded-lg border border-amber-300 bg-amber-50 p-4 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/40 dark:text-amber-200"
    >
      <p className="font-semibold">
        {list.length === 1 ? "A job queue has no live executor" : `${list.length} job queues have no live executor`}
      </p>
      <ul className="mt-1 list-disc space-y-0.5 pl-5">
        {list.map((warning) => (
          <li key={warning.queue}>
            Queue <code className="rounded bg-amber-100 px-1 font-mono dark:bg-amber-900/50">{warning.queue}</code>, used by{" "}
            <span className="font-medium">{warning.databases.join(", ")}</span>: backups and restores wait until an executor with{" "}
            <code className="rounded bg-amber-100 px-1 font-mono dark:bg-amber-900/50">EXECUTOR_QUEUE={warning.queue}</code> runs.
          </li>
        ))}
      </ul>
      {linkToExecutors && (
        <p className="mt-2">
          <Link to="/executors" className="font-medium underline hover:no-underline">
            See the executors
          </Link>
        </p>
      )}
    </div>
  );
}
