import { useQuery } from "@tanstack/react-query";

import { request } from "./api.ts";
import { queryKeys } from "./queryKeys.ts";

export type Role = "viewer" | "operator" | "admin";
export const ROLES: Role[] = ["viewer", "operator", "admin"];

export interface Me {
  id: string;
  email: string;
  role: Role;
  permissions: string[];
  authMethod: "session" | "token";
  csrfToken: string | null;
  tokenName: string | null;
}

export interface User {
  id: string;
  email: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  owner: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export interface AuditEvent {
  id: string;
  timestamp: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  details: Record<string, unknown> | null;
  ip: string | null;
}

export interface AuditFilters {
  action?: string;
  actor?: string;
  since?: string;
  until?: string;
  page?: number;
  limit?: number;
}

const json = (method: string, body?: unknown): RequestInit => ({
  method,
  ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
});

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const auth = {
  setupStatus: () => request<{ setupRequired: boolean }>("/api/auth/setup"),
  setup: (email: string, password: string) => request<Me>("/api/auth/setup", json("POST", { email, password })),
  login: (email: string, password: string) => request<Me>("/api/auth/login", json("POST", { email, password })),
  me: () => request<Me>("/api/auth/me"),
  logout: () => request<null>("/api/auth/logout", json("POST")),
  logoutAll: () => request<null>("/api/auth/logout-all", json("POST")),
  changePassword: (currentPassword: string, newPassword: string) =>
    request<null>("/api/auth/password", json("PUT", { currentPassword, newPassword })),
  users: () => request<User[]>("/api/users"),
  createUser: (email: string, password: string, role: Role) =>
    request<User>("/api/users", json("POST", { email, password, role })),
  updateUser: (id: string, change: { role?: Role; disabled?: boolean; password?: string }) =>
    request<User>(`/api/users/${encodeURIComponent(id)}`, json("PUT", change)),
  deleteUser: (id: string) => request<null>(`/api/users/${encodeURIComponent(id)}`, json("DELETE")),
  tokens: () => request<ApiToken[]>("/api/tokens"),
  createToken: (name: string, role: Role, expiresInDays?: number) =>
    request<ApiToken & { token: string }>("/api/tokens", json("POST", { name, role, expiresInDays })),
  revokeToken: (id: string) => request<null>(`/api/tokens/${encodeURIComponent(id)}`, json("DELETE")),
  audit: (filters: AuditFilters) => request<AuditEvent[]>(`/api/audit${query({ ...filters })}`),
};

/** The signed-in principal (shared by the layout and the pages). */
export function useMe() {
  return useQuery({ queryKey: queryKeys.me(), queryFn: auth.me, staleTime: 60_000, retry: false });
}

export function can(me: Me | undefined, permission: string): boolean {
  return me?.permissions.includes(permission) ?? false;
}
