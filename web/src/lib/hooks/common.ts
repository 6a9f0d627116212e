import { useMutation, useQueryClient, type QueryKey } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { toast } from "../toast.ts";

/** `value`, once it has stopped changing for `delay` ms. */
export function useDebounced<T>(value: T, delay = 400): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), delay);
    return () => window.clearTimeout(timer);
  }, [value, delay]);
  return settled;
}

/** What an action says when it is done or has failed (a toast each; `false`: no toast). */
export interface ActionMessages<TData, TVars> {
  success?: string | false | ((data: TData, vars: TVars) => string | false);
  /** Put before the API's message: "Could not delete the backup: <why>". */
  failure?: string | false | ((vars: TVars) => string | false);
}

/** A mutation that refreshes `invalidate` once it settled and toasts its outcome. */
export function useAction<TData, TVars = void>(
  mutationFn: (vars: TVars) => Promise<TData>,
  {
    invalidate = [],
    success,
    failure,
    onSuccess,
  }: ActionMessages<TData, TVars> & {
    invalidate?: QueryKey[];
    onSuccess?: (data: TData, vars: TVars) => void;
  },
) {
  const queryClient = useQueryClient();
  return useMutation<TData, Error, TVars>({
    mutationFn,
    onSuccess: (data, vars) => {
      const text = typeof success === "function" ? success(data, vars) : success;
      if (text) toast.success(text);
      onSuccess?.(data, vars);
    },
    onError: (error, vars) => {
      const prefix = typeof failure === "function" ? failure(vars) : failure;
      if (prefix !== false) toast.error(prefix ? `${prefix}: ${error.message}` : error.message);
    },
    onSettled: () => {
      for (const queryKey of invalidate) void queryClient.invalidateQueries({ queryKey });
    },
  });
}
