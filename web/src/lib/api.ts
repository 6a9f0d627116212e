// The UI's one facade over the typed client (./api/client.ts, generated from the API's OpenAPI
// schema by `just gen-api`): every REST call the pages make, each returning `{data, meta}` or
// throwing an ApiError. Types are the generated ones (`Schemas[...]`), aliased here by the names
// the pages use; field names are the camelCase names on the wire. Pages use the per-domain
// hooks in ./hooks/ (TanStack Query over these calls and ./queryKeys.ts).

import { ApiError, client, csrfToken, unwrap, type Page, type Schemas } from "./api/client.ts";
import type { paths } from "./api/schema";

export { ApiError, csrfToken, type Page, type Schemas };
export type { Meta } from "./api/client.ts";

// --- types ------------------------------------------------------------------------------------

export type DatabaseConfig = Schemas["DatabaseOut"];
export type DatabaseDetail = DatabaseConfig;
export type DatabaseType = DatabaseConfig["type"];
/** A create or an update of a database configuration (every field optional: a form's partial). */
export type DatabaseInput = Schemas["DatabaseUpdate"];
export type ConnectionTest = Schemas["ConnectionTestOut"];

export type Backup = Schemas["BackupOut"];
export type BackupStatus = Backup["status"];
export type BackupType = Backup["backupType"];
export type BackupDetail = Schemas["BackupDetailOut"];
export type LogLine = Schemas["LogOut"];
export type BackupHistory = Schemas["BackupHistoryOut"];
export type BackupHistoryPoint = Schemas["BackupHistoryPoint"];

export type Restore = Schemas["RestoreOut"];
export type RestoreDetail = Schemas["RestoreDetailOut"];
export type RestoreSource = NonNullable<Schemas["RestoreCreate"]["source"]>;
export type RestoreInput = Schemas["RestoreCreate"];
export type S3ObjectRef = Schemas["S3ObjectIn"];
/** The restore form's options: every switch set (the API takes each as optional). */
export type RestoreOptions = Required<Omit<Schemas["RestoreOptionsIn"], "safetyBackup">> & { safetyBackup?: boolean };

export type Schedule = Schemas["ScheduleOut"];
export type ScheduleType = Schedule["scheduleType"];
export type Compression = NonNullable<Schemas["ScheduleCreate"]["compression"]>;
/** A schedule as the form sends it: a valid create and a valid (full) update alike. */
export type ScheduleInput = Schemas["ScheduleCreate"] & Schemas["ScheduleUpdate"];
export type NextRuns = Schemas["NextRunsOut"];

export type RetentionPolicy = Schemas["RetentionPolicyOut"];
export type RetentionMode = RetentionPolicy["mode"];
export type RetentionPolicyInput = Omit<RetentionPolicy, "id" | "scheduleCount" | "createdAt" | "updatedAt">;
export type PreviewItem = Schemas["PreviewItem"];
export type RetentionPreview = Schemas["PreviewOut"];

export type S3ConfigInput = Schemas["S3ConfigUpdate"];
export type Addressing = NonNullable<S3ConfigInput["addressingStyle"]>;
export type Sse = NonNullable<S3ConfigInput["sse"]>;
export type ChecksumMode = NonNullable<S3ConfigInput["checksumMode"]>;
/** The API's output schema declares these three as plain strings; it only stores the values below. */
export type S3Config = Omit<Schemas["S3ConfigOut"], "addressingStyle" | "sse" | "checksumMode"> & {
  addressingStyle: Addressing;
  sse: Sse | null;
  checksumMode: ChecksumMode;
};
export type S3Check = Schemas["S3CheckOut"];
export type S3Test = Schemas["S3TestOut"];
export type S3Object = Schemas["S3ObjectOut"];
export type S3Objects = Schemas["S3ObjectsOut"];
export type ImportResult = Schemas["ImportOut"];

export type Executor = Schemas["ExecutorOut"];
/** A job an executor is running; kind and database are null when the API has no record of it. */
export type RunningJob = Schemas["RunningJobOut"];
/** A queue enabled databases use that no live executor serves. */
export type QueueWarning = Schemas["QueueWarningOut"];

export type SystemStats = Schemas["StatsOut"];
export type SystemStatus = Schemas["SystemStatusOut"];
export type Setting = Schemas["SettingOut"];
export type MaintenanceTask = Schemas["MaintenanceIn"]["task"];
export type MaintenanceResult = Schemas["MaintenanceOut"];

// --- list queries -----------------------------------------------------------------------------

export type BackupQuery = NonNullable<paths["/api/backups"]["get"]["parameters"]["query"]>;
export type RestoreQuery = NonNullable<paths["/api/restores"]["get"]["parameters"]["query"]>;
export type BackupSort = NonNullable<BackupQuery["sort"]>;
export type RestoreSort = NonNullable<RestoreQuery["sort"]>;
export type SortOrder = NonNullable<BackupQuery["order"]>;
export type StorageLocation = NonNullable<BackupQuery["storage"]>;

/** Query parameters without the empty ones (the API reads "" as a value). */
export function present<T extends object>(params: T): T {
  return Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined && value !== "")) as T;
}

// --- calls ------------------------------------------------------------------------------------

const path = <K extends string>(key: K, value: string) => ({ params: { path: { [key]: value } as Record<K, string> } });

export const api = {
  // system
  stats: () => unwrap(client.GET("/api/system/stats")),
  systemStatus: () => unwrap(client.GET("/api/system/status")),
  settings: () => unwrap(client.GET("/api/system/settings")),
  putSettings: (values: Record<string, unknown>) => unwrap(client.PUT("/api/system/settings", { body: values })),
  maintenance: (task: MaintenanceTask) => unwrap(client.POST("/api/system/maintenance", { body: { task } })),
  importLocal: () => unwrap(client.POST("/api/system/import-local")),
  backupHistory: (days: number, databaseId?: string) =>
    unwrap(client.GET("/api/dashboard/backup-history", { params: { query: present({ days, databaseId }) } })),

  // executors
  executors: () => unwrap(client.GET("/api/executors")),
  executorWarnings: () => unwrap(client.GET("/api/executors/warnings")),

  // databases
  databases: () => unwrap(client.GET("/api/databases")),
  database: (databaseId: string) => unwrap(client.GET("/api/databases/{config_id}", path("config_id", databaseId))),
  createDatabase: (input: DatabaseInput) => unwrap(client.POST("/api/databases", { body: input as Schemas["DatabaseCreate"] })),
  updateDatabase: (databaseId: string, input: DatabaseInput) =>
    unwrap(client.PUT("/api/databases/{config_id}", { ...path("config_id", databaseId), body: input })),
  deleteDatabase: (databaseId: string) => unwrap(client.DELETE("/api/databases/{config_id}", path("config_id", databaseId))),
  testConnection: (databaseId: string) =>
    unwrap(client.POST("/api/databases/{config_id}/test-connection", path("config_id", databaseId))),

  // backups
  backups: (query: BackupQuery = {}) => unwrap(client.GET("/api/backups", { params: { query: present(query) } })),
  backup: (backupId: string) => unwrap(client.GET("/api/backups/{backup_id}", path("backup_id", backupId))),
  /** Log lines at `level` and above (debug < info < warn < error). */
  backupLogs: (backupId: string, level?: LogLine["logLevel"]) =>
    unwrap(client.GET("/api/backups/{backup_id}/logs", { params: { path: { backup_id: backupId }, query: present({ level }) } })),
  startBackup: (databaseId: string) => unwrap(client.POST("/api/backups", { body: { databaseId } })),
  deleteBackup: (backupId: string) => unwrap(client.DELETE("/api/backups/{backup_id}", path("backup_id", backupId))),
  cancelBackup: (backupId: string) => unwrap(client.POST("/api/backups/{backup_id}/cancel", path("backup_id", backupId))),
  uploadToS3: (backupId: string) =>
    unwrap(client.POST("/api/backups/{backup_id}/upload-to-s3", { ...path("backup_id", backupId), body: {} })),
  downloadUrl: (backupId: string) => `/api/backups/${encodeURIComponent(backupId)}/download`,

  // restores
  restores: (query: RestoreQuery = {}) => unwrap(client.GET("/api/restores", { params: { query: present(query) } })),
  restore: (restoreId: string) => unwrap(client.GET("/api/restores/{restore_id}", path("restore_id", restoreId))),
  createRestore: (input: RestoreInput) => unwrap(client.POST("/api/restores", { body: input })),
  cancelRestore: (restoreId: string) => unwrap(client.POST("/api/restores/{restore_id}/cancel", path("restore_id", restoreId))),

  // schedules
  schedules: (databaseId?: string) => unwrap(client.GET("/api/schedules", { params: { query: present({ databaseId }) } })),
  schedule: (scheduleId: string) => unwrap(client.GET("/api/schedules/{schedule_id}", path("schedule_id", scheduleId))),
  createSchedule: (input: ScheduleInput) => unwrap(client.POST("/api/schedules", { body: input })),
  updateSchedule: (scheduleId: string, input: Schemas["ScheduleUpdate"]) =>
    unwrap(client.PUT("/api/schedules/{schedule_id}", { ...path("schedule_id", scheduleId), body: input })),
  deleteSchedule: (scheduleId: string) => unwrap(client.DELETE("/api/schedules/{schedule_id}", path("schedule_id", scheduleId))),
  setScheduleEnabled: (scheduleId: string, enabled: boolean) =>
    enabled
      ? unwrap(client.POST("/api/schedules/{schedule_id}/enable", path("schedule_id", scheduleId)))
      : unwrap(client.POST("/api/schedules/{schedule_id}/disable", path("schedule_id", scheduleId))),
  previewCron: (cronExpression: string, timezone: string, count = 5) =>
    unwrap(client.GET("/api/schedules/next-runs", { params: { query: { cronExpression, timezone, count } } })),

  // retention policies
  policies: () => unwrap(client.GET("/api/retention-policies")),
  policy: (policyId: string) => unwrap(client.GET("/api/retention-policies/{policy_id}", path("policy_id", policyId))),
  createPolicy: (input: RetentionPolicyInput) => unwrap(client.POST("/api/retention-policies", { body: input })),
  updatePolicy: (policyId: string, input: Partial<RetentionPolicyInput>) =>
    unwrap(client.PUT("/api/retention-policies/{policy_id}", { ...path("policy_id", policyId), body: input })),
  deletePolicy: (policyId: string) =>
    unwrap(client.DELETE("/api/retention-policies/{policy_id}", path("policy_id", policyId))),
  previewPolicy: (policyId: string, databaseId: string) =>
    unwrap(client.POST("/api/retention-policies/{policy_id}/preview", { ...path("policy_id", policyId), body: { databaseId } })),
  previewDraftPolicy: (policy: RetentionPolicyInput, databaseId: string) =>
    unwrap(client.POST("/api/retention-policies/preview", { body: { databaseId, policy } })),

  // S3 configurations
  s3Configs: async () => (await unwrap(client.GET("/api/s3-configs"))) as Page<S3Config[]>,
  s3Config: async (configId: string) =>
    (await unwrap(client.GET("/api/s3-configs/{config_id}", path("config_id", configId)))) as Page<S3Config>,
  createS3Config: async (input: S3ConfigInput) =>
    (await unwrap(client.POST("/api/s3-configs", { body: input as Schemas["S3ConfigCreate"] }))) as Page<S3Config>,
  updateS3Config: async (configId: string, input: S3ConfigInput) =>
    (await unwrap(client.PUT("/api/s3-configs/{config_id}", { ...path("config_id", configId), body: input }))) as Page<S3Config>,
  deleteS3Config: (configId: string) => unwrap(client.DELETE("/api/s3-configs/{config_id}", path("config_id", configId))),
  testS3Config: (configId: string) => unwrap(client.POST("/api/s3-configs/{config_id}/test", path("config_id", configId))),
  s3Buckets: (configId: string) => unwrap(client.GET("/api/s3-configs/{config_id}/buckets", path("config_id", configId))),
  importS3: (configId: string) => unwrap(client.POST("/api/s3-configs/{config_id}/import", path("config_id", configId))),
  s3Objects: (configId: string, params: { prefix?: string; startAfter?: string; limit?: number } = {}) =>
    unwrap(client.GET("/api/s3-configs/{config_id}/objects", { params: { path: { config_id: configId }, query: present(params) } })),
};

// --- the upload of a file to restore ----------------------------------------------------------

export interface UploadInput {
  databaseId: string;
  file: File;
  /** The Lifeboat `<file>.manifest.json`, to verify the upload like a recorded backup. */
  manifest?: File | null;
  options: RestoreOptions;
  /** Admins only, required without a manifest. */
  confirmUnverified?: boolean;
}

interface UploadAnswer {
  success?: boolean;
  data?: Restore;
  error?: { code?: string; message?: string; details?: unknown };
  meta?: Schemas["Meta"];
}

/**
 * POST /api/restores/upload with XMLHttpRequest, for its upload progress (`fetch` has none).
 * The text fields go first, so the API can refuse a bad request before the file is sent.
 */
export function uploadRestore(
  input: UploadInput,
  onProgress: (sent: number, total: number) => void,
  signal?: AbortSignal,
): Promise<Page<Restore>> {
  const form = new FormData();
  form.append("databaseId", input.databaseId);
  form.append("options", JSON.stringify(input.options));
  form.append("confirmUnverified", input.confirmUnverified ? "true" : "false");
  if (input.manifest) form.append("manifest", input.manifest, "manifest.json");
  form.append("file", input.file, input.file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/restores/upload");
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : input.file.size);
    xhr.onerror = () => reject(new ApiError("The upload failed: the connection to the API was lost.", "NETWORK_ERROR", 0));
    xhr.onabort = () => reject(new ApiError("The upload was cancelled.", "ABORTED", 0));
    xhr.onload = () => {
      let body: UploadAnswer | null = null;
      try {
        body = JSON.parse(xhr.responseText) as UploadAnswer;
      } catch {
        body = null;
      }
      if (xhr.status < 200 || xhr.status >= 300 || body === null || body.success !== true || body.data === undefined) {
        const message = body?.error?.message ?? `The upload failed (HTTP ${xhr.status}).`;
        reject(new ApiError(message, body?.error?.code ?? "HTTP_ERROR", xhr.status, body?.error?.details));
        return;
      }
      resolve({ data: body.data, meta: body.meta ?? { timestamp: "" } });
    };
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(form);
  });
}
