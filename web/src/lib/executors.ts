// Executors (their heartbeats, kept by the API) and cancelling a running execution.
// Field names are the camelCase names on the wire; see services/api/.../domain/executors/schemas.py.

import { client, unwrap, type Schemas } from "./api/client.ts";

/** A job an executor is running; kind and database are null when the API has no record of it. */
export type RunningJob = Schemas["RunningJobOut"];

export type Executor = Schemas["ExecutorOut"];

/** A queue enabled databases use that no live executor serves. */
export type QueueWarning = Schemas["QueueWarningOut"];

export const executors = {
  list: () => unwrap(client.GET("/api/executors")),
  warnings: () => unwrap(client.GET("/api/executors/warnings")),
  cancelBackup: (backupId: string) =>
    unwrap(client.POST("/api/backups/{backup_id}/cancel", { params: { path: { backup_id: backupId } } })),
  cancelRestore: (restoreId: string) =>
    unwrap(client.POST("/api/restores/{restore_id}/cancel", { params: { path: { restore_id: restoreId } } })),
};
