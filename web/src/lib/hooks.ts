import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { can, useMe } from "./auth.ts";
import { resources } from "./resources.ts";
import { queryKeys } from "./queryKeys.ts";

/** `value`, once it has stopped changing for `delay` ms. */
export function useDebounced<T>(value: T, delay = 400): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), delay);
    return () => window.clearTimeout(timer);
  }, [value, delay]);
  return settled;
}

/** Whether a backup can be copied to S3 at all: some S3 configuration is enabled. Users who
 * may not list configurations get `true` (the API answers for them). */
export function useS3Available(): boolean {
  const me = useMe();
  const mayView = can(me.data?.data, "s3.view");
  const configs = useQuery({ queryKey: queryKeys.s3Configs(), queryFn: resources.s3Configs, enabled: mayView, staleTime: 60_000 });
  if (!mayView || !configs.data) return !mayView;
  return configs.data.data.some((config) => config.enabled);
}
