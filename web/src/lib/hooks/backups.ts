import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { api, type Backup, type BackupQuery } from "../api.ts";
import { queryKeys } from "../queryKeys.ts";
import { isActive } from "../status.ts";
import { toast } from "../toast.ts";
import { useAction } from "./common.ts";

/** A page of backups; polled every 3 s while one of them runs, else every `idle` ms. */
export function useBackups(query: BackupQuery, { idle = 10_000, enabled = true } = {}) {
  return useQuery({
    queryKey: queryKeys.backups(query),
    queryFn: () => api.backups(query),
    placeholderData: keepPreviousData,
    enabled,
    refetchInterval: (q) => (q.state.data?.data.some((backup: Backup) => isActive(backup.status)) ? 3_000 : idle),
  });
}

/** Completed backups of the last `days` days, for the dashboard's charts. */
export function useBackupHistory(days: number) {
  return useQuery({ queryKey: queryKeys.backupHistory(days), queryFn: () => api.backupHistory(days), refetchInterval: 60_000 });
}

/** "Backup now" of a database (`name` for the toast; `quiet`: no success toast, the page says
 * it itself). */
export function useStartBackup({ quiet = false } = {}) {
  return useAction((database: { id: string; name: string }) => api.startBackup(database.id), {
    invalidate: [queryKeys.backups(), queryKeys.stats()],
    failure: (database) => `Could not start the backup of ${database.name}`,
    onSuccess: (page, database) => {
      if (!quiet) toast.success(`Backup of ${database.name} started.`, { to: `/backups/${encodeURIComponent(page.data.id)}`, label: "Follow it" });
    },
  });
}

export function useDeleteBackup(onSuccess?: () => void) {
  return useAction((backup: { id: string; name: string }) => api.deleteBackup(backup.id), {
    invalidate: [queryKeys.backups(), queryKeys.stats(), queryKeys.backupHistory()],
    success: (_, backup) => `Backup of ${backup.name} deleted.`,
    failure: (backup) => `Could not delete the backup of ${backup.name}`,
    onSuccess,
  });
}

export function useUploadToS3() {
  return useAction((backup: { id: string; name: string }) => api.uploadToS3(backup.id), {
    invalidate: [queryKeys.backups(), queryKeys.backup(undefined)],
    success: (_, backup) => `Copy of the backup of ${backup.name} to S3 queued.`,
    failure: (backup) => `Could not copy the backup of ${backup.name} to S3`,
  });
}

/** Cancel a queued or running backup or restore (the API answers at once; the status follows). */
export function useCancelExecution(kind: "backup" | "restore", id: string, what: string) {
  return useAction(
    async (): Promise<void> => {
      await (kind === "backup" ? api.cancelBackup(id) : api.cancelRestore(id));
    },
    {
      invalidate:
        kind === "backup" ? [queryKeys.backup(id), queryKeys.backups()] : [queryKeys.restore(id), queryKeys.restores()],
      success: `Cancelling ${what}…`,
      failure: `Could not cancel ${what}`,
    },
  );
}
