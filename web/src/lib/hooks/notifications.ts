// Notification channels (/api/notification-channels): queries and mutations for the
// Notifications page. Field names are the camelCase names on the wire
// (services/api/.../domain/notifications/schemas.py).

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { client, unwrap, type Schemas } from "../api/client.ts";

export type Channel = Schemas["ChannelOut"];
export type ChannelCreated = Schemas["ChannelCreated"];
export type ChannelInput = Schemas["ChannelCreate"];
export type ChannelPatch = Schemas["ChannelUpdate"];
export type Delivery = Schemas["DeliveryOut"];
export type ChannelTest = Schemas["TestOut"];

/** The events a channel may subscribe to, grouped for the form, with what they mean. */
export const EVENT_GROUPS: { label: string; events: { name: string; label: string }[] }[] = [
  {
    label: "Backups",
    events: [
      { name: "backup.failed", label: "Backup failed" },
      { name: "backup.completed", label: "Backup completed" },
      { name: "backup.overdue", label: "Backup overdue (no good backup in time)" },
      { name: "backup.overdue.cleared", label: "Overdue cleared (backups back on track)" },
      { name: "schedule.missed", label: "Scheduled run skipped" },
      { name: "s3.failed", label: "S3 copy failed" },
      { name: "verification.failed", label: "Verification failed" },
      { name: "retention.deleted", label: "Retention deleted backups" },
    ],
  },
  {
    label: "Restores",
    events: [
      { name: "restore.failed", label: "Restore failed" },
      { name: "restore.completed", label: "Restore completed" },
    ],
  },
  {
    label: "System",
    events: [
      { name: "executor.missing", label: "No live executor for a queue in use" },
      { name: "disk.low", label: "Backup storage low on space" },
    ],
  },
];

/** The events a new channel starts with: everything that needs attention. */
export const DEFAULT_EVENTS = [
  "backup.failed",
  "backup.overdue",
  "backup.overdue.cleared",
  "restore.failed",
  "s3.failed",
  "verification.failed",
  "executor.missing",
  "disk.low",
];

const KEY = ["notification-channels"] as const;
const path = (channelId: string) => ({ params: { path: { channel_id: channelId } } });

export function useChannels() {
  return useQuery({ queryKey: KEY, queryFn: () => unwrap(client.GET("/api/notification-channels")) });
}

export function useDeliveries(channelId: string, enabled: boolean) {
  return useQuery({
    queryKey: [...KEY, channelId, "deliveries"],
    queryFn: () => unwrap(client.GET("/api/notification-channels/{channel_id}/deliveries", path(channelId))),
    enabled,
    refetchInterval: 5_000,
  });
}

function useRefresh() {
  const queryClient = useQueryClient();
  return () => void queryClient.invalidateQueries({ queryKey: KEY });
}

export function useCreateChannel() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: (body: ChannelInput) => unwrap(client.POST("/api/notification-channels", { body })),
    onSuccess: refresh,
  });
}

export function useUpdateChannel(channelId: string) {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: (body: ChannelPatch) =>
      unwrap(client.PUT("/api/notification-channels/{channel_id}", { ...path(channelId), body })),
    onSuccess: refresh,
  });
}

export function useDeleteChannel(channelId: string) {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: () => unwrap(client.DELETE("/api/notification-channels/{channel_id}", path(channelId))),
    onSuccess: refresh,
  });
}

export function useTestChannel(channelId: string) {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: () => unwrap(client.POST("/api/notification-channels/{channel_id}/test", path(channelId))),
    onSuccess: refresh,
  });
}

/** The databases a channel can be routed to (id and name). */
export { useDatabases as useDatabaseNames } from "./databases.ts";
