// Every TanStack Query key of the UI, in one place. A key's first element names the resource, so
// `invalidateQueries({queryKey: queryKeys.backups()})` also refreshes every filtered backup list.

/** `[name]`, or `[name, ...parts]` when parts are given (an omitted last part is left out, so
 * `backups()` is the prefix of every `backups(filters)`). */
function key<N extends string>(name: N, ...parts: unknown[]): readonly unknown[] {
  const last = parts.length - 1;
  return last >= 0 && parts[last] === undefined ? [name, ...parts.slice(0, last)] : [name, ...parts];
}

export const queryKeys = {
  me: () => key("me"),
  stats: () => key("stats"),
  settings: () => key("settings"),
  systemStatus: () => key("system-status"),
  executors: () => key("executors"),
  executorWarnings: () => key("executor-warnings"),
  users: () => key("users"),
  tokens: () => key("tokens"),
  audit: (filters: object) => key("audit", filters),

  databases: () => key("databases"),
  connectionTest: (databaseId: string) => ["connection-test", databaseId] as const,
  database: (id: string | null | undefined) => ["database", id] as const,
  backups: (filters?: object) => key("backups", filters),
  backup: (id: string | null | undefined) => key("backup", id),
  backupHistory: (days?: number) => key("backup-history", days),
  backupLogs: (backupId: string, level?: string) => (level === undefined ? key("backup-logs", backupId) : key("backup-logs", backupId, level)),
  restores: (filters?: object) => key("restores", filters),
  restore: (id: string | null | undefined) => ["restore", id] as const,

  schedules: (filters?: object) => key("schedules", filters),
  schedule: (id: string | null | undefined) => ["schedule", id] as const,
  nextRuns: (cron: string, zone: string) => key("next-runs", cron, zone),
  retentionPolicies: () => key("retention-policies"),
  retentionPolicy: (id: string | null | undefined) => ["retention-policy", id] as const,
  retentionPreview: (body: string, chosen: unknown) => ["retention-preview", body, chosen] as const,
  s3Configs: () => key("s3-configs"),
  s3Config: (id: string | null | undefined) => ["s3-config", id] as const,
  s3Objects: (configId: unknown, prefix: unknown, startAfter: unknown) => ["s3-objects", configId, prefix, startAfter] as const,
};
