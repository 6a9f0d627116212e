import { ApiError, client, csrfToken, redirectForAuth, unwrap, type Page } from "./api/client.ts";
import type { paths } from "./api/schema";
import type { Envelope } from "./types.ts";

export { ApiError, csrfToken, type Page };

/** A call the typed client (./api/client.ts) does not make yet: same headers, same envelope. */
export async function request<T>(path: string, init?: RequestInit): Promise<Page<T>> {
  let response: Response;
  const method = (init?.method ?? "GET").toUpperCase();
  try {
    response = await fetch(path, {
      ...init,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        ...(init?.body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...(method !== "GET" && method !== "HEAD" ? { "X-CSRF-Token": csrfToken() } : {}),
        ...init?.headers,
      },
    });
  } catch {
    throw new ApiError("Cannot reach the Lifeboat API.", "NETWORK_ERROR", 0);
  }
  let body: Envelope<T> | null = null;
  try {
    body = (await response.json()) as Envelope<T>;
  } catch {
    body = null;
  }
  if (response.status === 401) redirectForAuth(body?.error?.code ?? "UNAUTHORIZED");
  if (!response.ok || body === null || !body.success) {
    const message = body?.error?.message ?? `Request failed (HTTP ${response.status}).`;
    throw new ApiError(message, body?.error?.code ?? "HTTP_ERROR", response.status, body?.error?.details);
  }
  return { data: body.data as T, meta: body.meta ?? { timestamp: "" } };
}

type BackupQuery = NonNullable<paths["/api/backups"]["get"]["parameters"]["query"]>;

/** Filters of the backup list; `status` comes from the URL as text (the API checks it). */
export interface BackupFilters {
  page?: number;
  limit?: number;
  status?: string;
  databaseId?: string;
}

/** Query parameters without the empty ones (the API reads "" as a value). */
export function present<T extends object>(params: T): T {
  return Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined && value !== "")) as T;
}

export const api = {
  stats: () => unwrap(client.GET("/api/system/stats")),
  databases: () => unwrap(client.GET("/api/databases")),
  backups: (filters: BackupFilters = {}) =>
    unwrap(client.GET("/api/backups", { params: { query: present(filters) as BackupQuery } })),
  startBackup: (databaseId: string) => unwrap(client.POST("/api/backups", { body: { databaseId } })),
  testConnection: (databaseId: string) =>
    unwrap(client.POST("/api/databases/{config_id}/test-connection", { params: { path: { config_id: databaseId } } })),
  downloadUrl: (backupId: string) => `/api/backups/${encodeURIComponent(backupId)}/download`,
  uploadToS3: (backupId: string) =>
    unwrap(client.POST("/api/backups/{backup_id}/upload-to-s3", { params: { path: { backup_id: backupId } }, body: {} })),
};
