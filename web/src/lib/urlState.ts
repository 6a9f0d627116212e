import { useCallback, useMemo } from "react";

import { navigate, usePathname, useSearch } from "./router.tsx";

/** The page's query string as state: `params` to read, `update` to change some keys (an empty
 * value removes its key; any change but of `page` goes back to page 1). History is replaced,
 * so filters do not pile up in the back button but links and reloads keep them. */
export function useUrlParams(): [URLSearchParams, (changes: Record<string, string | undefined>) => void] {
  const search = useSearch();
  const pathname = usePathname();
  const params = useMemo(() => new URLSearchParams(search), [search]);
  const update = useCallback(
    (changes: Record<string, string | undefined>) => {
      const next = new URLSearchParams(window.location.search);
      for (const [key, value] of Object.entries(changes)) {
        if (value) next.set(key, value);
        else next.delete(key);
      }
      if (!("page" in changes)) next.delete("page");
      const text = next.toString();
      navigate(`${pathname}${text ? `?${text}` : ""}`, { replace: true, scroll: "page" in changes });
    },
    [pathname],
  );
  return [params, update];
}

/** `value` if it is one of `allowed`, else undefined (a hand-edited URL never reaches the API
 * with a value it would refuse). */
export function oneOf<T extends string>(value: string | null, allowed: readonly T[]): T | undefined {
  return allowed.find((item) => item === value);
}

export function pageOf(params: URLSearchParams): number {
  return Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A `YYYY-MM-DD` of the URL as the instant its day starts (or ends) in the browser's zone. */
export function dayBound(value: string | null, end: "start" | "end"): string | undefined {
  if (!value || !DAY.test(value)) return undefined;
  const date = new Date(`${value}T${end === "start" ? "00:00:00.000" : "23:59:59.999"}`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
