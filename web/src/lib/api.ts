import { navigate } from "./router.tsx";
import type { Backup, ConnectionTest, DatabaseConfig, Envelope, Meta, SystemStats } from "./types.ts";

/** An API failure: the envelope's error, or a transport problem. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  /** The envelope's `error.details` (often `[{field, message}]` for VALIDATION_ERROR). */
  readonly details: unknown;

  constructor(message: string, code: string, status: number, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export interface Page<T> {
  data: T;
  meta: Meta;
}

/** The CSRF token the API put in the readable `lifeboat_csrf` cookie (double submit). */
export function csrfToken(): string {
  const match = document.cookie.split("; ").find((part) => part.startsWith("lifeboat_csrf="));
  return match ? decodeURIComponent(match.slice("lifeboat_csrf=".length)) : "";
}

const AUTH_PAGES = ["/login", "/setup"];

/** On 401, send the browser to first-run setup or to sign-in (remembering where it was). */
function redirectForAuth(code: string): void {
  const here = window.location.pathname;
  if (AUTH_PAGES.includes(here)) return;
  if (code === "SETUP_REQUIRED") {
    navigate("/setup", { replace: true });
  } else {
    navigate(`/login?next=${encodeURIComponent(here + window.location.search)}`, { replace: true });
  }
}

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
  return { data: body.data as T, meta: body.meta ?? {} };
}

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export interface BackupFilters {
  page?: number;
  limit?: number;
  status?: string;
  databaseId?: string;
}

export const api = {
  stats: () => request<SystemStats>("/api/system/stats"),
  databases: () => request<DatabaseConfig[]>("/api/databases"),
  backups: (filters: BackupFilters = {}) =>
    request<Backup[]>(`/api/backups${query({ ...filters })}`),
  startBackup: (databaseId: string) =>
    request<Backup>("/api/backups", { method: "POST", body: JSON.stringify({ databaseId }) }),
  testConnection: (databaseId: string) =>
    request<ConnectionTest>(`/api/databases/${encodeURIComponent(databaseId)}/test-connection`, { method: "POST" }),
  downloadUrl: (backupId: string) => `/api/backups/${encodeURIComponent(backupId)}/download`,
  uploadToS3: (backupId: string) =>
    request<Backup>(`/api/backups/${encodeURIComponent(backupId)}/upload-to-s3`, { method: "POST", body: "{}" }),
};
