import { api } from "../lib/api.ts";
import { can, useMe } from "../lib/auth.ts";
import { formatBytes, formatDateTime, formatDuration, formatRelative } from "../lib/format.ts";
import { Link } from "../lib/router.tsx";
import type { Backup } from "../lib/types.ts";
import { StatusBadge } from "./StatusBadge.tsx";

const TH = "px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-zinc-500 dark:text-zinc-400";
const TD = "px-3 py-2 text-sm whitespace-nowrap";

export function BackupTable({ backups, compact = false }: { backups: Backup[]; compact?: boolean }) {
  const me = useMe();
  const canRestore = can(me.data?.data, "restore.execute");
  return (
    <div className="overflow-x-auto">
      <table className="min-w-full divide-y divide-zinc-200 dark:divide-zinc-800">
        <thead>
          <tr>
            <th scope="col" className={TH}>Started</th>
            <th scope="col" className={TH}>Database</th>
            <th scope="col" className={TH}>Type</th>
            <th scope="col" className={TH}>Status</th>
            <th scope="col" className={`${TH} text-right`}>Size</th>
            <th scope="col" className={`${TH} text-right`}>Duration</th>
            {!compact && <th scope="col" className={TH}><span className="sr-only">Actions</span></th>}
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800/60">
          {backups.map((backup) => (
            <tr key={backup.id} data-testid="backup-row">
              <td className={TD} title={formatDateTime(backup.startedAt)}>
                {compact ? formatRelative(backup.startedAt) : formatDateTime(backup.startedAt)}
              </td>
              <td className={`${TD} font-medium`}>{backup.databaseName ?? "—"}</td>
              <td className={TD}>{backup.backupType}</td>
              <td className={TD}>
                <StatusBadge status={backup.status} />
                {backup.status === "failed" && backup.errorMessage && !compact && (
                  <p className="mt-1 max-w-xs truncate text-xs text-red-700 dark:text-red-400" title={backup.errorMessage}>
                    {backup.errorMessage}
                  </p>
                )}
              </td>
              <td className={`${TD} text-right tabular-nums`}>{formatBytes(backup.fileSizeBytes)}</td>
              <td className={`${TD} text-right tabular-nums`}>{formatDuration(backup.durationSeconds)}</td>
              {!compact && (
                <td className={`${TD} text-right`}>
                  {backup.status === "completed" && canRestore && (
                    <Link
                      to={`/restore/new?backupId=${encodeURIComponent(backup.id)}`}
                      className="mr-3 font-medium text-orange-700 hover:underline dark:text-orange-400"
                      aria-label={`Restore backup of ${backup.databaseName ?? backup.id}`}
                    >
                      Restore
                    </Link>
                  )}
                  {backup.status === "completed" ? (
                    <a
                      href={api.downloadUrl(backup.id)}
                      download
                      className="font-medium text-orange-700 hover:underline dark:text-orange-400"
                      aria-label={`Download backup of ${backup.databaseName ?? backup.id}`}
                    >
                      Download
                    </a>
                  ) : null}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
