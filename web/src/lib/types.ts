// Shapes of the REST API (SPEC §6). Hand-written until the client is generated from the API's
// OpenAPI schema; field names are the camelCase names on the wire.

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export interface Meta {
  page?: number;
  limit?: number;
  total?: number;
  timestamp?: string;
}

export interface Envelope<T> {
  success: boolean;
  data?: T;
  error?: ApiErrorBody;
  meta?: Meta;
}

export type DatabaseType = "postgresql" | "mysql" | "mariadb" | (string & {});

export interface DatabaseConfig {
  id: string;
  name: string;
  type: DatabaseType;
  host: string;
  port: number;
  databaseName: string;
  enabled: boolean;
  /** Executor queue serving this database (executors per network). */
  queue?: string;
  dockerContainerName?: string | null;
}

export type BackupStatus =
  | "pending"
  | "running"
  | "completed"
  | "failed"
  | "cancelled"
  | (string & {});

export interface Backup {
  id: string;
  databaseConfigId: string;
  databaseName: string | null;
  backupType: string;
  status: BackupStatus;
  fileSizeBytes: number | null;
  startedAt: string;
  completedAt: string | null;
  durationSeconds: number | null;
  errorMessage: string | null;
  checksum: string | null;
  fileName?: string | null;
  compressionUsed?: string | null;
  s3Uploaded?: boolean;
  s3Bucket?: string | null;
  s3Key?: string | null;
  /** The local copy: pending | completed | failed | deleted (null: not asked for). */
  localStatus?: string | null;
  /** The S3 copy: pending | completed | failed | deleted (null: not asked for). */
  s3Status?: string | null;
  /** Why the S3 copy failed. */
  s3Error?: string | null;
  /** The S3 configuration the copy went to. */
  s3ConfigId?: string | null;
  s3UploadAt?: string | null;
  /** Where the local copy is, relative to the backup storage root. */
  localPath?: string | null;
  backupScheduleId?: string | null;
  /** The policy given with a manual backup (scheduled ones follow their schedule's). */
  retentionPolicyId?: string | null;
  databaseSizeBytes?: number | null;
  /** Bytes written so far (grows while running). */
  progressBytes?: number;
  attempt?: number;
  executorId?: string | null;
  queue?: string;
  serverVersion?: string | null;
  toolVersion?: string | null;
  createdAt?: string;
  scheduledFor?: string | null;
  retryNumber?: number;
  retryOf?: string | null;
  importedAt?: string | null;
}

/** `GET /api/system/stats`. */
export interface SystemStats {
  totalBackups: number;
  backupsByStatus: Record<string, number>;
  totalSizeBytes: number;
  databases: { total: number; enabled: number; postgresql: number; mysql: number };
  last24h: { total: number; completed: number; failed: number };
  totalRestores: number;
}

/** `POST /api/databases/:id/test-connection`. */
export interface ConnectionTest {
  connected: boolean;
  serverVersion: string | null;
  databaseSizeBytes: number | null;
  latencyMs: number;
  error: string | null;
  executorId?: string | null;
}
