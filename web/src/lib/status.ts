import type { BackupStatus } from "./api.ts";

/** Whether an execution may still change (queued or running): its lists and page poll. */
export function isActive(status: BackupStatus): boolean {
  return status === "running" || status === "pending";
}
