import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { api, type Restore, type RestoreQuery } from "../api.ts";
import { queryKeys } from "../queryKeys.ts";
import { isActive } from "../status.ts";

/** A page of restores; polled every 3 s while one of them runs. */
export function useRestores(query: RestoreQuery) {
  return useQuery({
    queryKey: queryKeys.restores(query),
    queryFn: () => api.restores(query),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data?.data.some((restore: Restore) => isActive(restore.status)) ? 3_000 : 10_000),
  });
}

export function useRestore(restoreId: string) {
  return useQuery({
    queryKey: queryKeys.restore(restoreId),
    queryFn: () => api.restore(restoreId),
    // Every 2 s until it has ended.
    refetchInterval: (q) => {
      const status = q.state.data?.data.status;
      return status === undefined || isActive(status) ? 2_000 : false;
    },
  });
}
