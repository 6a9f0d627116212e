import { useQuery } from "@tanstack/react-query";

import { api } from "../api.ts";
import { can, useMe } from "../auth.ts";
import { queryKeys } from "../queryKeys.ts";

export function useStats() {
  return useQuery({ queryKey: queryKeys.stats(), queryFn: api.stats, refetchInterval: 15_000 });
}

export function useS3Configs({ enabled = true } = {}) {
  return useQuery({ queryKey: queryKeys.s3Configs(), queryFn: api.s3Configs, enabled, staleTime: 60_000 });
}

/** Whether a backup can be copied to S3 at all: some S3 configuration is enabled. Users who
 * may not list configurations get `true` (the API answers for them). */
export function useS3Available(): boolean {
  const me = useMe();
  const mayView = can(me.data?.data, "s3.view");
  const configs = useS3Configs({ enabled: mayView });
  if (!mayView || !configs.data) return !mayView;
  return configs.data.data.some((config) => config.enabled);
}

export function useSystemStatus() {
  return useQuery({ queryKey: queryKeys.systemStatus(), queryFn: api.systemStatus, refetchInterval: 30_000 });
}

export function useSettings() {
  return useQuery({ queryKey: queryKeys.settings(), queryFn: api.settings });
}

/** The executors and what they run, polled every 5 s. */
export function useExecutors() {
  return useQuery({ queryKey: queryKeys.executors(), queryFn: api.executors, refetchInterval: 5_000 });
}
