// Executors (their heartbeats, kept by the API) and cancelling a running execution.
// Field names are the camelCase names on the wire; see services/api/.../domain/executors/schemas.py.

import { request } from "./api.ts";
import type { Backup } from "./types.ts";
import type { Restore } from "./resources.ts";

/** A job an executor is running; kind and database are null when the API has no record of it. */
export interface RunningJob {
  id: string;
  kind: "backup" | "restore" | null;
  databaseName: string | null;
  status: string | null;
}

export interface Executor {
  id: string;
  queue: string;
  version: string;
  /** Tool → its `--version` line, or null when the executor does not have it. */
  tools: Record<string, string | null>;
  runningJobs: RunningJob[];
  concurrency: number;
  intervalSeconds: number;
  /** Its last heartbeat said it is shutting down. */
  stopping: boolean;
  /** Heard from within three heartbeat intervals, and not stopping. */
  live: boolean;
  lastSeen: string;
  startedAt: string;
}

/** A queue enabled databases use that no live executor serves. */
export interface QueueWarning {
  queue: string;
  databases: string[];
  message: string;
}

const id = (value: string) => encodeURIComponent(value);

export const executors = {
  list: () => request<Executor[]>("/api/executors"),
  warnings: () => request<QueueWarning[]>("/api/executors/warnings"),
  cancelBackup: (backupId: string) => request<Backup>(`/api/backups/${id(backupId)}/cancel`, { method: "POST", body: "{}" }),
  cancelRestore: (restoreId: string) => request<Restore>(`/api/restores/${id(restoreId)}/cancel`, { method: "POST", body: "{}" }),
};
