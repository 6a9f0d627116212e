import { useQuery } from "@tanstack/react-query";

import { present } from "./api.ts";
import { client, unwrap, type Schemas } from "./api/client.ts";
import { queryKeys } from "./queryKeys.ts";

export type Role = Schemas["UserOut"]["role"];
export const ROLES: Role[] = ["viewer", "operator", "admin"];

export type Me = Schemas["MeOut"];

export type User = Schemas["UserOut"];

export type ApiToken = Schemas["TokenOut"];

export type AuditEvent = Schemas["AuditOut"];

export interface AuditFilters {
  action?: string;
  actor?: string;
  since?: string;
  until?: string;
  page?: number;
  limit?: number;
}

const userPath = (id: string) => ({ params: { path: { user_id: id } } });
const tokenPath = (id: string) => ({ params: { path: { token_id: id } } });

export const auth = {
  setupStatus: () => unwrap(client.GET("/api/auth/setup")),
  setup: (email: string, password: string) => unwrap(client.POST("/api/auth/setup", { body: { email, password } })),
  login: (email: string, password: string) => unwrap(client.POST("/api/auth/login", { body: { email, password } })),
  me: () => unwrap(client.GET("/api/auth/me")),
  logout: () => unwrap(client.POST("/api/auth/logout")),
  logoutAll: () => unwrap(client.POST("/api/auth/logout-all")),
  changePassword: (currentPassword: string, newPassword: string) =>
    unwrap(client.PUT("/api/auth/password", { body: { currentPassword, newPassword } })),
  users: () => unwrap(client.GET("/api/users")),
  createUser: (email: string, password: string, role: Role) =>
    unwrap(client.POST("/api/users", { body: { email, password, role } })),
  updateUser: (id: string, change: { role?: Role; disabled?: boolean; password?: string }) =>
    unwrap(client.PUT("/api/users/{user_id}", { ...userPath(id), body: change })),
  deleteUser: (id: string) => unwrap(client.DELETE("/api/users/{user_id}", userPath(id))),
  tokens: () => unwrap(client.GET("/api/tokens")),
  createToken: (name: string, role: Role, expiresInDays?: number) =>
    unwrap(client.POST("/api/tokens", { body: { name, role, expiresInDays } })),
  revokeToken: (id: string) => unwrap(client.DELETE("/api/tokens/{token_id}", tokenPath(id))),
  audit: (filters: AuditFilters) => unwrap(client.GET("/api/audit", { params: { query: present(filters) } })),
};

/** The signed-in principal (shared by the layout and the pages). */
export function useMe() {
  return useQuery({ queryKey: queryKeys.me(), queryFn: auth.me, staleTime: 60_000, retry: false });
}

export function can(me: Me | undefined, permission: string): boolean {
  return me?.permissions.includes(permission) ?? false;
}
