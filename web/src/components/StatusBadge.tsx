import type { BackupStatus } from "../lib/api.ts";
import { isActive } from "../lib/status.ts";

const STYLES: Record<string, string> = {
  completed: "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-300",
  failed: "bg-red-100 text-red-800 dark:bg-red-900/40 dark:text-red-300",
  running: "bg-sky-100 text-sky-800 dark:bg-sky-900/40 dark:text-sky-300",
  pending: "bg-amber-100 text-amber-800 dark:bg-amber-900/40 dark:text-amber-300",
  cancelled: "bg-zinc-200 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300",
};

const FALLBACK = "bg-zinc-200 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300";

export function StatusBadge({ status }: { status: BackupStatus }) {
  return (
    <span
      className={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ${
        STYLES[status] ?? FALLBACK
      }`}
    >
      {status === "running" && (
        <span aria-hidden="true" className="size-1.5 animate-pulse rounded-full bg-current" />
      )}
      {status}
    </span>
  );
}

export { isActive };
