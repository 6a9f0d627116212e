import { formatRelative } from "../lib/format.ts";
import { useDatabases } from "../lib/hooks/databases.ts";
import { Link } from "../lib/router.tsx";

/** Databases whose last good backup is older than expected (the dead man's switch), in red. */
export function OverdueBanner() {
  const databases = useDatabases();
  const overdue = (databases.data?.data ?? []).filter((db) => db.overdue);
  if (overdue.length === 0) return null;
  return (
    <section
      role="alert"
      aria-label="Overdue backups"
      data-testid="overdue-banner"
      className="rounded-xl border border-red-300 bg-red-50 p-4 text-sm text-red-900 dark:border-red-900 dark:bg-red-950/40 dark:text-red-200"
    >
      <h2 className="font-semibold">
        {overdue.length === 1 ? "1 database is overdue for a backup" : `${overdue.length} databases are overdue for a backup`}
      </h2>
      <ul className="mt-2 space-y-1">
        {overdue.map((db) => (
          <li key={db.id}>
            <Link to={`/databases/${encodeURIComponent(db.id)}`} className="font-medium underline">
              {db.name}
            </Link>{" "}
            — {db.lastGoodBackupAt ? `last good backup ${formatRelative(db.lastGoodBackupAt)}` : "no successful backup yet"}
            {db.expectedBackupAgeHours ? ` (expected every ${db.expectedBackupAgeHours} h at most)` : ""}
          </li>
        ))}
      </ul>
    </section>
  );
}
