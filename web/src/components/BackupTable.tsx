import { api, type Backup, type BackupSort, type SortOrder } from "../lib/api.ts";
import { useS3Available } from "../lib/hooks/system.ts";
import { can, useMe } from "../lib/auth.ts";
import { formatBytes, formatDateTime, formatDuration, formatRelative } from "../lib/format.ts";
import { Link } from "../lib/router.tsx";
import { StatusBadge } from "./StatusBadge.tsx";
import { CancelButton } from "./CancelButton.tsx";
import { DataTable, type ColumnSort } from "./DataTable.tsx";
import { VerificationBadge } from "./Verification.tsx";
import { useUploadToS3 } from "../lib/hooks/backups.ts";

const COPY_TONE: Record<string, string> = {
  completed: "border-emerald-300 text-emerald-800 dark:border-emerald-800 dark:text-emerald-300",
  pending: "border-amber-300 text-amber-800 dark:border-amber-800 dark:text-amber-300",
  failed: "border-red-300 text-red-800 dark:border-red-800 dark:text-red-300",
  deleted: "border-zinc-300 text-zinc-500 line-through dark:border-zinc-700 dark:text-zinc-500",
};

/** Where a backup's copies are, each with its own status (one dump feeds every copy). */
function Copies({ backup }: { backup: Backup }) {
  const copies: { name: string; status: string; detail: string }[] = [];
  if (backup.localStatus) copies.push({ name: "Local", status: backup.localStatus, detail: "" });
  if (backup.s3Status) {
    const where = backup.s3Bucket ? `s3://${backup.s3Bucket}/${backup.s3Key ?? ""}` : "S3";
    copies.push({ name: "S3", status: backup.s3Status, detail: backup.s3Error ? `${where}: ${backup.s3Error}` : where });
  }
  if (copies.length === 0) return <span className="text-zinc-400">—</span>;
  return (
    <span className="inline-flex gap-1" data-testid="backup-copies">
      {copies.map((copy) => (
        <span
          key={copy.name}
          title={`${copy.name} copy ${copy.status}${copy.detail ? ` — ${copy.detail}` : ""}`}
          className={`rounded border px-1.5 py-0.5 text-xs font-medium ${COPY_TONE[copy.status] ?? COPY_TONE.pending}`}
        >
          {copy.name}
          {copy.status === "completed" ? "" : ` ${copy.status}`}
        </span>
      ))}
    </span>
  );
}

function UploadToS3({ backup }: { backup: Backup }) {
  const upload = useUploadToS3();
  return (
    <button
      type="button"
      className="mr-3 font-medium text-orange-700 hover:underline disabled:opacity-50 dark:text-orange-400"
      disabled={upload.isPending}
      title={upload.error ? upload.error.message : "Copy this backup to the default S3 configuration"}
      onClick={() => upload.mutate({ id: backup.id, name: backup.databaseName ?? "a deleted database" })}
    >
      {upload.isPending ? "Queuing…" : upload.isError ? "S3 failed — retry" : backup.s3Status === "failed" ? "Retry S3" : "To S3"}
    </button>
  );
}

const TD = "px-3 py-2 text-sm whitespace-nowrap";

export function BackupTable({
  backups,
  compact = false,
  showDatabase = true,
  sorting,
}: {
  backups: Backup[];
  compact?: boolean;
  /** Sortable Started, Size and Duration headers (the Backups page). */
  sorting?: { sort: BackupSort; order: SortOrder; onSort: (sort: BackupSort) => void };
  /** false: one database's backups (its details page), the column would repeat its name. */
  showDatabase?: boolean;
}) {
  const me = useMe();
  const canRestore = can(me.data?.data, "restore.execute");
  const s3Available = useS3Available();
  const canUpload = can(me.data?.data, "backup.execute") && s3Available;
  const sortBy = (column: BackupSort): ColumnSort | undefined =>
    sorting && { direction: sorting.sort === column ? sorting.order : null, onSort: () => sorting.onSort(column) };
  return (
    <DataTable
      columns={[
        { label: "Started", sort: sortBy("startedAt") },
        showDatabase && "Database",
        "Type",
        "Status",
        !compact && "Copies",
        !compact && "Verified",
        { label: "Size", align: "right", sort: sortBy("size") },
        { label: "Duration", align: "right", sort: sortBy("duration") },
        !compact && { label: "Actions", srOnly: true },
      ]}
    >
      {backups.map((backup) => (
        <tr key={backup.id} data-testid="backup-row">
          <td className={TD} title={formatDateTime(backup.startedAt)}>
            <Link
              to={`/backups/${encodeURIComponent(backup.id)}`}
              className="font-medium text-orange-700 hover:underline dark:text-orange-400"
              aria-label={`Details of the backup of ${backup.databaseName ?? "a deleted database"} started ${formatDateTime(backup.startedAt)}`}
              data-testid="backup-details-link"
            >
              {compact ? formatRelative(backup.startedAt) : formatDateTime(backup.startedAt)}
            </Link>
          </td>
          {showDatabase && <td className={`${TD} font-medium`}>{backup.databaseName ?? "—"}</td>}
          <td className={TD}>{backup.backupType}</td>
          <td className={TD}>
            <StatusBadge status={backup.status} />
            {backup.status === "failed" && backup.errorMessage && !compact && (
              <p className="mt-1 max-w-xs truncate text-xs text-red-700 dark:text-red-400" title={backup.errorMessage}>
                {backup.errorMessage}
              </p>
            )}
          </td>
          {!compact && (
            <td className={TD}>
              <Copies backup={backup} />
            </td>
          )}
          {!compact && (
            <td className={TD}>{backup.status === "completed" ? <VerificationBadge backup={backup} /> : <span className="text-zinc-400">—</span>}</td>
          )}
          <td className={`${TD} text-right tabular-nums`} data-testid="backup-size">
            {formatBytes(backup.fileSizeBytes)}
          </td>
          <td className={`${TD} text-right tabular-nums`}>{formatDuration(backup.durationSeconds)}</td>
          {!compact && (
            <td className={`${TD} text-right`}>
              <CancelButton kind="backup" id={backup.id} status={backup.status} name={backup.databaseName ?? "a deleted database"} compact />
              {backup.status === "completed" &&
                canUpload &&
                backup.localStatus === "completed" &&
                (backup.s3Status == null || backup.s3Status === "failed" || backup.s3Status === "deleted") && (
                  <UploadToS3 backup={backup} />
                )}
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
    </DataTable>
  );
}
