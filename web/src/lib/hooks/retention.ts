import { useQuery } from "@tanstack/react-query";

import { api } from "../api.ts";
import { queryKeys } from "../queryKeys.ts";

export function useRetentionPolicies({ enabled = true } = {}) {
  return useQuery({ queryKey: queryKeys.retentionPolicies(), queryFn: api.policies, enabled });
}
