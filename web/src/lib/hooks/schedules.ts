import { useQuery } from "@tanstack/react-query";

import { api, type Schedule } from "../api.ts";
import { queryKeys } from "../queryKeys.ts";
import { useAction } from "./common.ts";

/** Every schedule, or those of one database. */
export function useSchedules(databaseId?: string, { enabled = true, refetchInterval = 60_000 } = {}) {
  return useQuery({
    queryKey: queryKeys.schedules(databaseId === undefined ? undefined : { databaseId }),
    queryFn: () => api.schedules(databaseId),
    enabled,
    refetchInterval,
  });
}

export function useSetScheduleEnabled(schedule: Schedule) {
  const name = schedule.databaseName ?? "a deleted database";
  return useAction((enabled: boolean) => api.setScheduleEnabled(schedule.id, enabled), {
    invalidate: [queryKeys.schedules(), queryKeys.schedule(schedule.id)],
    success: (_, enabled) => `The ${schedule.scheduleType} schedule of ${name} is ${enabled ? "enabled" : "disabled"}.`,
    failure: `Could not change the schedule of ${name}`,
  });
}

export function useDeleteSchedule(schedule: Schedule, onSuccess?: () => void) {
  const name = schedule.databaseName ?? "a deleted database";
  return useAction(() => api.deleteSchedule(schedule.id), {
    invalidate: [queryKeys.schedules()],
    success: `The ${schedule.scheduleType} schedule of ${name} is deleted.`,
    failure: `Could not delete the schedule of ${name}`,
    onSuccess,
  });
}
