// System logs (GET /api/logs) and scheduler status (GET /api/schedulers): typed calls and the
// hooks the /logs page and the dashboard use. Field names are the camelCase names on the wire;
// see services/api/.../domain/syslogs/controller.py and domain/schedulers/controller.py.

import { useQuery } from "@tanstack/react-query";

import { client, unwrap, type Schemas } from "../api/client.ts";
import { can, useMe } from "../auth.ts";

export type SystemLogLine = Schemas["SystemLogOut"];
export type SchedulerStatus = Schemas["SchedulerOut"];
export type LogService = "api" | "scheduler" | "executor";
export type LogLevel = SystemLogLine["level"];

export const LOG_SERVICES: LogService[] = ["api", "scheduler", "executor"];
export const LOG_LEVELS: LogLevel[] = ["debug", "info", "warning", "error", "critical"];

export interface LogFilters {
  service?: LogService;
  level?: LogLevel;
  q?: string;
  limit?: number;
}

export const systemLogs = {
  list: (filters: LogFilters) =>
    unwrap(
      client.GET("/api/logs", {
        params: {
          query: {
            service: filters.service,
            level: filters.level,
            q: filters.q || undefined,
            limit: filters.limit ?? 300,
          },
        },
      }),
    ),
  schedulers: () => unwrap(client.GET("/api/schedulers")),
};

const logKeys = {
  logs: (filters: LogFilters) => ["system-logs", filters] as const,
  schedulers: () => ["schedulers"] as const,
};

/** Recent system log lines matching `filters`, newest first; polled every 3 s while `live`. */
export function useSystemLogs(filters: LogFilters, live: boolean) {
  const me = useMe();
  return useQuery({
    queryKey: logKeys.logs(filters),
    queryFn: () => systemLogs.list(filters),
    enabled: can(me.data?.data, "system.view"),
    refetchInterval: live ? 3_000 : false,
    placeholderData: (previous) => previous,
  });
}

/** Schedulers heard from (heartbeats), most recent first; polled every 10 s. */
export function useSchedulers() {
  const me = useMe();
  const allowed = can(me.data?.data, "system.view");
  const query = useQuery({
    queryKey: logKeys.schedulers(),
    queryFn: systemLogs.schedulers,
    enabled: allowed,
    refetchInterval: 10_000,
  });
  return { allowed, query };
}
