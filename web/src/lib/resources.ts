// Schedules, retention policies, S3 configurations and restores (SPEC §6.1.2, §6.1.4–§6.1.6).
// Field names are the camelCase names on the wire; see services/api/.../domain/*/schemas.py.

import { ApiError, csrfToken, present, request, type Page } from "./api.ts";
import { client, unwrap } from "./api/client.ts";
import type { paths } from "./api/schema";
import { formatBytes } from "./format.ts";
import type { Schemas } from "./api/client.ts";
import type { Envelope } from "./types.ts";

const json = (method: string, body?: unknown): RequestInit => ({
  method,
  ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
});

const id = (value: string) => encodeURIComponent(value);


// --- schedules ---------------------------------------------------------------------------

export type ScheduleType = "hourly" | "daily" | "weekly" | "monthly" | "custom";
export type Compression = "zstd" | "gzip";

/** The predefined schedules of SPEC §5.4.2 (the API fills these in and refuses others). */
export const PREDEFINED_CRON: Record<Exclude<ScheduleType, "custom">, string> = {
  hourly: "0 * * * *",
  daily: "0 2 * * *",
  weekly: "0 3 * * 0",
  monthly: "0 4 1 * *",
};

export type Schedule = Schemas["ScheduleOut"];

export interface ScheduleInput {
  databaseConfigId: string;
  scheduleType: ScheduleType;
  cronExpression?: string;
  timezone?: string;
  enabled?: boolean;
  s3UploadEnabled?: boolean;
  s3ConfigId?: string | null;
  storeLocally?: boolean;
  retentionPolicyId?: string | null;
  compression?: Compression;
  retryCount?: number | null;
  retryDelaySeconds?: number | null;
}

export type NextRuns = Schemas["NextRunsOut"];

// --- retention policies --------------------------------------------------------------------

export type RetentionMode = "count" | "age" | "size" | "hybrid";

export type RetentionPolicy = Schemas["RetentionPolicyOut"];

export type RetentionPolicyInput = Omit<RetentionPolicy, "id" | "scheduleCount" | "createdAt" | "updatedAt">;

export type PreviewItem = Schemas["PreviewItem"];

export type RetentionPreview = Schemas["PreviewOut"];

export const MODE_LABEL: Record<RetentionMode, string> = {
  count: "Count tiers",
  age: "Age",
  size: "Size",
  hybrid: "Hybrid",
};

/** "24h / 7d / 4w / 12m" for count tiers; "older than 30 days"... for the other limits. */
export function describePolicy(policy: Pick<
  RetentionPolicy,
  "mode" | "keepHourly" | "keepDaily" | "keepWeekly" | "keepMonthly" | "keepYearly" | "maxAgeDays" | "maxTotalBytes"
>): string {
  const tiers = [
    [policy.keepHourly, "h"],
    [policy.keepDaily, "d"],
    [policy.keepWeekly, "w"],
    [policy.keepMonthly, "m"],
    [policy.keepYearly, "y"],
  ]
    .filter(([count]) => Number(count) > 0)
    .map(([count, unit]) => `${count}${unit}`)
    .join(" / ");
  const age = policy.maxAgeDays !== null ? `max ${policy.maxAgeDays} days old` : "";
  const size = policy.maxTotalBytes !== null ? `max ${formatBytes(policy.maxTotalBytes)} total` : "";
  if (policy.mode === "count") return tiers || "keeps only the newest backup";
  if (policy.mode === "age") return age;
  if (policy.mode === "size") return size;
  return [tiers, age, size].filter(Boolean).join(", ") || "keeps only the newest backup";
}

// --- S3 configurations ---------------------------------------------------------------------

export type Addressing = "path" | "virtual" | "auto";
export type Sse = "AES256" | "aws:kms";
export type ChecksumMode = "when_required" | "when_supported";

/** The API's output schema declares these three as plain strings; it only stores the values below. */
export type S3Config = Omit<Schemas["S3ConfigOut"], "addressingStyle" | "sse" | "checksumMode"> & {
  addressingStyle: Addressing;
  sse: Sse | null;
  checksumMode: ChecksumMode;
};

export interface S3ConfigInput {
  name?: string;
  bucket?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  endpoint?: string | null;
  pathPrefix?: string;
  enabled?: boolean;
  isDefault?: boolean;
  addressingStyle?: Addressing;
  partSizeBytes?: number;
  concurrency?: number;
  storageClass?: string | null;
  sse?: Sse | null;
  sseKmsKeyId?: string | null;
  checksumMode?: ChecksumMode;
}

export type S3Check = Schemas["S3CheckOut"];

export type S3Test = Schemas["S3TestOut"];

export type ImportResult = Schemas["ImportOut"];

// --- restores --------------------------------------------------------------------------------

export type RestoreSource = "auto" | "local" | "s3";

export interface RestoreOptions {
  dropAndRecreate: boolean;
  clean: boolean;
  schemaOnly: boolean;
  dataOnly: boolean;
  noOwner: boolean;
  exitOnError: boolean;
  /** First take a `pre-restore` backup of the target; if it fails the target is untouched. */
  safetyBackup?: boolean;
}

export type Restore = Schemas["RestoreOut"];

export type LogLine = Schemas["LogOut"];

export type RestoreDetail = Schemas["RestoreDetailOut"];

export type BackupDetail = Schemas["BackupDetailOut"];

/** One object of a configured bucket that could be restored (`GET /api/s3-configs/:id/objects`). */
export type S3Object = Schemas["S3ObjectOut"];

export type S3Objects = Schemas["S3ObjectsOut"];

export interface S3ObjectRef {
  s3ConfigId: string;
  key: string;
  engine?: "postgresql" | "mysql";
  compression?: "zstd" | "gzip";
}

/** POST /api/restores: a recorded backup (`backupId`) or an object of a bucket (`s3Object`). */
export interface RestoreInput {
  databaseId: string;
  backupId?: string;
  s3Object?: S3ObjectRef;
  source?: RestoreSource;
  options: RestoreOptions;
  /** Admins only: restore an `s3Object` without a manifest (no checksum can be verified). */
  allowUnverified?: boolean;
}

export interface UploadInput {
  databaseId: string;
  file: File;
  /** The Lifeboat `<file>.manifest.json`, to verify the upload like a recorded backup. */
  manifest?: File | null;
  options: RestoreOptions;
  /** Admins only, required without a manifest. */
  confirmUnverified?: boolean;
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
      let body: Envelope<Restore> | null = null;
      try {
        body = JSON.parse(xhr.responseText) as Envelope<Restore>;
      } catch {
        body = null;
      }
      if (xhr.status < 200 || xhr.status >= 300 || body === null || !body.success) {
        const message = body?.error?.message ?? `The upload failed (HTTP ${xhr.status}).`;
        reject(new ApiError(message, body?.error?.code ?? "HTTP_ERROR", xhr.status, body?.error?.details));
        return;
      }
      resolve({ data: body.data as Restore, meta: body.meta ?? { timestamp: "" } });
    };
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(form);
  });
}

type RestoreQuery = NonNullable<paths["/api/restores"]["get"]["parameters"]["query"]>;

/** Filters of the restore list; `status` comes from the URL as text (the API checks it). */
export interface RestoreFilters {
  page?: number;
  limit?: number;
  status?: string;
  databaseId?: string;
}

// --- database configurations ----------------------------------------------------------------

export type DatabaseDetail = Schemas["DatabaseOut"];

export interface DatabaseInput {
  name?: string;
  type?: "postgresql" | "mysql";
  host?: string;
  port?: number;
  databaseName?: string;
  username?: string;
  password?: string;
  dockerContainerName?: string | null;
  enabled?: boolean;
  queue?: string;
  maxBackupAgeHours?: number | null;
  skipConnectionTest?: boolean;
}

// --- system ---------------------------------------------------------------------------------

export type SystemStatus = Schemas["SystemStatusOut"];

export type Setting = Schemas["SettingOut"];

export type MaintenanceTask = "cleanup" | "vacuum" | "verify";

export type MaintenanceResult = Schemas["MaintenanceOut"];

const path = <K extends string>(key: K, value: string) => ({ params: { path: { [key]: value } as Record<K, string> } });

export const resources = {
  systemStatus: () => unwrap(client.GET("/api/system/status")),
  settings: () => unwrap(client.GET("/api/system/settings")),
  putSettings: (values: Record<string, unknown>) => unwrap(client.PUT("/api/system/settings", { body: values })),
  maintenance: (task: MaintenanceTask) => unwrap(client.POST("/api/system/maintenance", { body: { task } })),
  importLocal: () => unwrap(client.POST("/api/system/import-local")),

  databases: () => unwrap(client.GET("/api/databases")),
  database: (databaseId: string) => unwrap(client.GET("/api/databases/{config_id}", path("config_id", databaseId))),
  createDatabase: (input: DatabaseInput) => unwrap(client.POST("/api/databases", { body: input as Schemas["DatabaseCreate"] })),
  updateDatabase: (databaseId: string, input: DatabaseInput) =>
    unwrap(client.PUT("/api/databases/{config_id}", { ...path("config_id", databaseId), body: input })),
  deleteDatabase: (databaseId: string) => unwrap(client.DELETE("/api/databases/{config_id}", path("config_id", databaseId))),

  schedules: () => unwrap(client.GET("/api/schedules")),
  createSchedule: (input: ScheduleInput) => unwrap(client.POST("/api/schedules", { body: input })),
  updateSchedule: (scheduleId: string, input: Partial<ScheduleInput>) =>
    unwrap(client.PUT("/api/schedules/{schedule_id}", { ...path("schedule_id", scheduleId), body: input })),
  deleteSchedule: (scheduleId: string) => unwrap(client.DELETE("/api/schedules/{schedule_id}", path("schedule_id", scheduleId))),
  setScheduleEnabled: (scheduleId: string, enabled: boolean) =>
    enabled
      ? unwrap(client.POST("/api/schedules/{schedule_id}/enable", path("schedule_id", scheduleId)))
      : unwrap(client.POST("/api/schedules/{schedule_id}/disable", path("schedule_id", scheduleId))),
  schedule: (scheduleId: string) => unwrap(client.GET("/api/schedules/{schedule_id}", path("schedule_id", scheduleId))),
  previewCron: (cronExpression: string, timezone: string, count = 5) =>
    unwrap(client.GET("/api/schedules/next-runs", { params: { query: { cronExpression, timezone, count } } })),

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

  s3Configs: () => request<S3Config[]>("/api/s3-configs"),
  s3Config: (configId: string) => request<S3Config>(`/api/s3-configs/${id(configId)}`),
  createS3Config: (input: S3ConfigInput) => request<S3Config>("/api/s3-configs", json("POST", input)),
  updateS3Config: (configId: string, input: S3ConfigInput) =>
    request<S3Config>(`/api/s3-configs/${id(configId)}`, json("PUT", input)),
  deleteS3Config: (configId: string) => unwrap(client.DELETE("/api/s3-configs/{config_id}", path("config_id", configId))),
  testS3Config: (configId: string) => unwrap(client.POST("/api/s3-configs/{config_id}/test", path("config_id", configId))),
  s3Buckets: (configId: string) => unwrap(client.GET("/api/s3-configs/{config_id}/buckets", path("config_id", configId))),
  importS3: (configId: string) => unwrap(client.POST("/api/s3-configs/{config_id}/import", path("config_id", configId))),
  s3Objects: (configId: string, params: { prefix?: string; startAfter?: string; limit?: number } = {}) =>
    unwrap(client.GET("/api/s3-configs/{config_id}/objects", { params: { path: { config_id: configId }, query: present(params) } })),

  backup: (backupId: string) => unwrap(client.GET("/api/backups/{backup_id}", path("backup_id", backupId))),
  /** Log lines at `level` and above (debug < info < warn < error). */
  backupLogs: (backupId: string, level?: LogLine["logLevel"]) =>
    unwrap(client.GET("/api/backups/{backup_id}/logs", { params: { path: { backup_id: backupId }, query: present({ level }) } })),
  deleteBackup: (backupId: string) => unwrap(client.DELETE("/api/backups/{backup_id}", path("backup_id", backupId))),
  databaseSchedules: (databaseId: string) => unwrap(client.GET("/api/schedules", { params: { query: { databaseId } } })),
  restores: (filters: RestoreFilters = {}) =>
    unwrap(client.GET("/api/restores", { params: { query: present(filters) as RestoreQuery } })),
  restore: (restoreId: string) => unwrap(client.GET("/api/restores/{restore_id}", path("restore_id", restoreId))),
  createRestore: (input: RestoreInput) => unwrap(client.POST("/api/restores", { body: input })),
};
