// Schedules, retention policies, S3 configurations and restores (SPEC §6.1.2, §6.1.4–§6.1.6).
// Field names are the camelCase names on the wire; see services/api/.../domain/*/schemas.py.

import { ApiError, csrfToken, request, type Page } from "./api.ts";
import { formatBytes } from "./format.ts";
import type { Backup, DatabaseConfig, Envelope } from "./types.ts";

const json = (method: string, body?: unknown): RequestInit => ({
  method,
  ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
});

const id = (value: string) => encodeURIComponent(value);

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

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

export interface Schedule {
  id: string;
  databaseConfigId: string;
  databaseName: string | null;
  scheduleType: ScheduleType;
  cronExpression: string;
  timezone: string;
  enabled: boolean;
  s3UploadEnabled: boolean;
  s3ConfigId: string | null;
  storeLocally: boolean;
  retentionPolicyId: string | null;
  compression: Compression;
  retryCount: number | null;
  retryDelaySeconds: number | null;
  lastFiredAt: string | null;
  nextRunAt: string | null;
  createdAt: string;
  updatedAt: string;
}

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

export interface NextRuns {
  cronExpression: string;
  timezone: string;
  runs: string[];
}

// --- retention policies --------------------------------------------------------------------

export type RetentionMode = "count" | "age" | "size" | "hybrid";

export interface RetentionPolicy {
  id: string;
  name: string;
  description: string | null;
  mode: RetentionMode;
  keepHourly: number;
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
  keepYearly: number;
  maxAgeDays: number | null;
  maxTotalBytes: number | null;
  timezone: string;
  scheduleCount: number;
  createdAt: string;
  updatedAt: string;
}

export type RetentionPolicyInput = Omit<RetentionPolicy, "id" | "scheduleCount" | "createdAt" | "updatedAt">;

export interface PreviewItem {
  backupId: string;
  startedAt: string;
  fileName: string | null;
  sizeBytes: number | null;
  backupType: string;
  reasons: string[];
}

export interface RetentionPreview {
  policyId: string | null;
  databaseId: string;
  keep: PreviewItem[];
  delete: PreviewItem[];
}

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

export interface S3Config {
  id: string;
  name: string;
  region: string;
  bucket: string;
  endpoint: string | null;
  pathPrefix: string;
  enabled: boolean;
  isDefault: boolean;
  addressingStyle: Addressing;
  partSizeBytes: number;
  concurrency: number;
  storageClass: string | null;
  sse: Sse | null;
  sseKmsKeyId: string | null;
  checksumMode: ChecksumMode;
  hasAccessKeyId: boolean;
  hasSecretAccessKey: boolean;
  createdAt: string;
  updatedAt: string;
}

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

export interface S3Check {
  name: string;
  status: "ok" | "failed" | "skipped";
  errorCode: string | null;
  message: string | null;
}

export interface S3Test {
  ok: boolean;
  checks: S3Check[];
  latencyMs: number;
  error: string | null;
}

export interface ImportResult {
  source: string;
  manifestsFound: number;
  imported: number;
  merged: number;
  alreadyKnown: number;
  createdDatabases: string[];
  problems: { location: string; error: string }[];
}

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

export interface Restore {
  id: string;
  databaseConfigId: string;
  databaseName: string | null;
  backupExecutionId: string | null;
  status: string;
  sourceType: string;
  sourcePath: string | null;
  s3Bucket: string | null;
  s3Key: string | null;
  restoreOptions: RestoreOptions | null;
  safetyBackupId?: string | null;
  startedAt: string;
  completedAt: string | null;
  durationSeconds: number | null;
  errorMessage: string | null;
  initiatedBy: string | null;
  progressBytes: number;
  attempt: number;
  executorId: string | null;
  queue: string;
  createdAt: string;
}

export interface LogLine {
  id: string;
  executionId: string;
  executionType: "backup" | "restore";
  logLevel: "debug" | "info" | "warn" | "error";
  message: string;
  metadata: Record<string, unknown> | null;
  timestamp: string;
}

export interface RestoreDetail extends Restore {
  logs: LogLine[];
}

export interface BackupDetail extends Backup {
  logs: LogLine[];
}

/** One object of a configured bucket that could be restored (`GET /api/s3-configs/:id/objects`). */
export interface S3Object {
  key: string;
  size: number;
  lastModified: string | null;
  storageClass: string | null;
  /** A Lifeboat manifest sits beside it: its checksum can be verified. */
  hasManifest: boolean;
}

export interface S3Objects {
  bucket: string;
  prefix: string;
  objects: S3Object[];
  truncated: boolean;
  nextStartAfter: string | null;
}

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
      resolve({ data: body.data as Restore, meta: body.meta ?? {} });
    };
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(form);
  });
}

export interface RestoreFilters {
  page?: number;
  limit?: number;
  status?: string;
  databaseId?: string;
}

// --- database configurations ----------------------------------------------------------------

export interface DatabaseDetail extends DatabaseConfig {
  username: string;
  hasPassword: boolean;
  createdAt: string;
  updatedAt: string;
}

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
  skipConnectionTest?: boolean;
}

// --- system ---------------------------------------------------------------------------------

export interface SystemStatus {
  status: "ok" | "degraded";
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  disk: { path: string; totalBytes: number; freeBytes: number; usedBytes: number };
  nats: { connected: boolean; url: string };
  database: { path: string; sizeBytes: number };
  timezone: string;
}

export interface Setting {
  key: string;
  value: unknown;
  valueType: "string" | "number" | "boolean" | "json";
  description: string | null;
  updatedAt: string;
}

export type MaintenanceTask = "cleanup" | "vacuum" | "verify";

export interface MaintenanceResult {
  task: MaintenanceTask;
  message: string;
  durationMs: number;
  checked?: number | null;
  ok?: number | null;
  problems?: { id: string; fileName: string | null; problem: string; detail: string }[] | null;
}

export const resources = {
  systemStatus: () => request<SystemStatus>("/api/system/status"),
  settings: () => request<Setting[]>("/api/system/settings"),
  putSettings: (values: Record<string, unknown>) => request<Setting[]>("/api/system/settings", json("PUT", values)),
  maintenance: (task: MaintenanceTask) => request<MaintenanceResult>("/api/system/maintenance", json("POST", { task })),
  importLocal: () => request<ImportResult>("/api/system/import-local", json("POST")),

  databases: () => request<DatabaseConfig[]>("/api/databases"),
  database: (databaseId: string) => request<DatabaseDetail>(`/api/databases/${id(databaseId)}`),
  createDatabase: (input: DatabaseInput) => request<DatabaseDetail>("/api/databases", json("POST", input)),
  updateDatabase: (databaseId: string, input: DatabaseInput) =>
    request<DatabaseDetail>(`/api/databases/${id(databaseId)}`, json("PUT", input)),
  deleteDatabase: (databaseId: string) => request<null>(`/api/databases/${id(databaseId)}`, json("DELETE")),

  schedules: () => request<Schedule[]>("/api/schedules"),
  createSchedule: (input: ScheduleInput) => request<Schedule>("/api/schedules", json("POST", input)),
  updateSchedule: (scheduleId: string, input: Partial<ScheduleInput>) =>
    request<Schedule>(`/api/schedules/${id(scheduleId)}`, json("PUT", input)),
  deleteSchedule: (scheduleId: string) => request<null>(`/api/schedules/${id(scheduleId)}`, json("DELETE")),
  setScheduleEnabled: (scheduleId: string, enabled: boolean) =>
    request<Schedule>(`/api/schedules/${id(scheduleId)}/${enabled ? "enable" : "disable"}`, json("POST")),
  schedule: (scheduleId: string) => request<Schedule>(`/api/schedules/${id(scheduleId)}`),
  previewCron: (cronExpression: string, timezone: string, count = 5) =>
    request<NextRuns>(`/api/schedules/next-runs${query({ cronExpression, timezone, count })}`),

  policies: () => request<RetentionPolicy[]>("/api/retention-policies"),
  policy: (policyId: string) => request<RetentionPolicy>(`/api/retention-policies/${id(policyId)}`),
  createPolicy: (input: RetentionPolicyInput) =>
    request<RetentionPolicy>("/api/retention-policies", json("POST", input)),
  updatePolicy: (policyId: string, input: Partial<RetentionPolicyInput>) =>
    request<RetentionPolicy>(`/api/retention-policies/${id(policyId)}`, json("PUT", input)),
  deletePolicy: (policyId: string) => request<null>(`/api/retention-policies/${id(policyId)}`, json("DELETE")),
  previewPolicy: (policyId: string, databaseId: string) =>
    request<RetentionPreview>(`/api/retention-policies/${id(policyId)}/preview`, json("POST", { databaseId })),
  previewDraftPolicy: (policy: RetentionPolicyInput, databaseId: string) =>
    request<RetentionPreview>("/api/retention-policies/preview", json("POST", { databaseId, policy })),

  s3Configs: () => request<S3Config[]>("/api/s3-configs"),
  s3Config: (configId: string) => request<S3Config>(`/api/s3-configs/${id(configId)}`),
  createS3Config: (input: S3ConfigInput) => request<S3Config>("/api/s3-configs", json("POST", input)),
  updateS3Config: (configId: string, input: S3ConfigInput) =>
    request<S3Config>(`/api/s3-configs/${id(configId)}`, json("PUT", input)),
  deleteS3Config: (configId: string) => request<null>(`/api/s3-configs/${id(configId)}`, json("DELETE")),
  testS3Config: (configId: string) => request<S3Test>(`/api/s3-configs/${id(configId)}/test`, json("POST")),
  s3Buckets: (configId: string) => request<{ buckets: string[] }>(`/api/s3-configs/${id(configId)}/buckets`),
  importS3: (configId: string) => request<ImportResult>(`/api/s3-configs/${id(configId)}/import`, json("POST")),
  s3Objects: (configId: string, params: { prefix?: string; startAfter?: string; limit?: number } = {}) =>
    request<S3Objects>(`/api/s3-configs/${id(configId)}/objects${query({ ...params })}`),

  backup: (backupId: string) => request<BackupDetail>(`/api/backups/${id(backupId)}`),
  /** Log lines at `level` and above (debug < info < warn < error). */
  backupLogs: (backupId: string, level?: LogLine["logLevel"]) =>
    request<LogLine[]>(`/api/backups/${id(backupId)}/logs${query({ level })}`),
  deleteBackup: (backupId: string) => request<null>(`/api/backups/${id(backupId)}`, json("DELETE")),
  databaseSchedules: (databaseId: string) => request<Schedule[]>(`/api/schedules${query({ databaseId })}`),
  restores: (filters: RestoreFilters = {}) => request<Restore[]>(`/api/restores${query({ ...filters })}`),
  restore: (restoreId: string) => request<RestoreDetail>(`/api/restores/${id(restoreId)}`),
  createRestore: (input: RestoreInput) => request<Restore>("/api/restores", json("POST", input)),
};
