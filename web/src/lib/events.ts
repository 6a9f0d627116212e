import { useEffect, useRef, useState } from "react";

import type { BackupStatus } from "./api.ts";

/** One `execution` event of `GET /api/events/stream` (services/api/.../hub.py ExecutionUpdate). */
export interface ExecutionUpdate {
  executionType: "backup" | "restore";
  executionId: string;
  event: "started" | "progress" | "log" | "finished" | "created" | "deleted";
  /** A backup or restore status (both have the same ones). */
  status?: BackupStatus;
  progressBytes?: number;
  bytesTotal?: number;
  level?: "debug" | "info" | "warn" | "error";
  message?: string;
  at?: string;
}

/** "live": the stream is open; "connecting"/"down": callers should poll instead. */
export type StreamState = "off" | "connecting" | "live" | "down";

/**
 * Follow one execution's updates over Server-Sent Events while `enabled`.
 *
 * The API's hub is in-process, so with several API replicas (or a proxy buffering the stream)
 * an update may never arrive here: callers keep a slow poll as a safety net, and a fast one
 * whenever the state is not "live".
 */
export function useExecutionStream(
  type: ExecutionUpdate["executionType"],
  executionId: string,
  enabled: boolean,
  onUpdate: (update: ExecutionUpdate) => void,
): StreamState {
  const handler = useRef(onUpdate);
  useEffect(() => {
    handler.current = onUpdate;
  });
  const [state, setState] = useState<StreamState>("off");

  useEffect(() => {
    if (!enabled || typeof EventSource === "undefined") {
      setState("off");
      return;
    }
    setState("connecting");
    const source = new EventSource("/api/events/stream");
    source.onopen = () => setState("live");
    // EventSource reconnects by itself after a dropped connection; it gives up (CLOSED) on an
    // HTTP error such as 401/403. Either way, poll until it is open again.
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? "down" : "connecting");
    source.addEventListener("execution", (event: MessageEvent<string>) => {
      let update: ExecutionUpdate;
      try {
        update = JSON.parse(event.data) as ExecutionUpdate;
      } catch {
        return;
      }
      if (update.executionType === type && update.executionId === executionId) handler.current(update);
    });
    return () => source.close();
  }, [type, executionId, enabled]);

  return enabled ? state : "off";
}
