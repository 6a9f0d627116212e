import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { api, type Restore, type RestoreInput, type RestoreQuery } from "../api.ts";
import { queryKeys } from "../queryKeys.ts";
import { isActive } from "../status.ts";
import { useAction } from "./common.ts";

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
    refetchInterval: (q) => (q.state.data && isActive(q.state.data.data.status) ? 2_000 : false),
  });
}

/** Start a restore of a recorded backup or of a bucket's object (`targetName` for the toast). */
export function useCreateRestore(onSuccess?: (restore: Restore) => void) {
  return useAction((vars: { input: RestoreInput; targetName: string }) => api.createRestore(vars.input), {
    invalidate: [queryKeys.restores(), queryKeys.stats()],
    success: (_, vars) => `Restore into ${vars.targetName} queued.`,
    failure: (vars) => `Could not start the restore into ${vars.targetName}`,
    onSuccess: (page) => onSuccess?.(page.data),
  });
}
