import { can, useMe } from "../lib/auth.ts";
import type { BackupStatus } from "../lib/api.ts";
import { useCancelExecution } from "../lib/hooks/backups.ts";
import { DANGER } from "./Form.tsx";
import { isActive } from "./StatusBadge.tsx";

/** Cancel a pending or running backup or restore, after a confirmation. The API answers 202
 * at once; the status becomes `cancelled` once the executor has stopped the job, which the
 * pages polling an active execution pick up by themselves. */
export function CancelButton({
  kind,
  id,
  status,
  name,
  compact = false,
}: {
  kind: "backup" | "restore";
  id: string;
  status: BackupStatus;
  /** What is cancelled, for the confirmation ("the backup of shop"). */
  name: string;
  /** A link-styled button for table rows. */
  compact?: boolean;
}) {
  const me = useMe();
  const what = kind === "backup" ? `the backup of ${name}` : `the restore into ${name}`;
  const cancel = useCancelExecution(kind, id, what);
  if (!isActive(status) || !can(me.data?.data, `${kind}.execute`)) return null;
  const onClick = () => {
    const warning = kind === "restore" ? " The database may be left partly restored." : "";
    if (window.confirm(`Cancel ${what}? It stops at once and is marked cancelled.${warning}`)) cancel.mutate();
  };
  const label = cancel.isPending ? "Cancelling…" : cancel.isSuccess ? "Cancelling…" : "Cancel";
  if (compact) {
    return (
      <button
        type="button"
        className="mr-3 font-medium text-red-700 hover:underline disabled:opacity-50 dark:text-red-400"
        disabled={cancel.isPending || cancel.isSuccess}
        title={cancel.error ? cancel.error.message : `Cancel ${what}`}
        aria-label={`Cancel ${what}`}
        onClick={onClick}
        data-testid="cancel-execution"
      >
        {cancel.isError ? "Cancel failed — retry" : label}
      </button>
    );
  }
  return (
    <span className="inline-flex items-center gap-2">
      <button
        type="button"
        className={DANGER}
        disabled={cancel.isPending || cancel.isSuccess}
        onClick={onClick}
        aria-label={`Cancel ${what}`}
        data-testid="cancel-execution"
      >
        {label}
      </button>
      {cancel.isError && (
        <span role="alert" className="max-w-xs text-xs text-red-700 dark:text-red-400">
          {cancel.error.message}
        </span>
      )}
    </span>
  );
}
