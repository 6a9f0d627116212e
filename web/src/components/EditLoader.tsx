import { useQuery } from "@tanstack/react-query";
import { Fragment, type ReactNode } from "react";

import type { Page } from "../lib/api.ts";
import { ErrorState, Loading } from "./States.tsx";

/** The form for a new item (no `id`), or for the stored item `id` once it is loaded fresh
 * (loading and error states included); the form remounts when the item changes. */
export function EditLoader<T extends { id: string }>({
  id,
  queryKey,
  load,
  what,
  render,
}: {
  id: string | undefined;
  /** The first element of the item's key in `queryKeys` (`"schedule"` for `queryKeys.schedule(id)`). */
  queryKey: string;
  load: (id: string) => Promise<Page<T>>;
  what: string;
  render: (item?: T) => ReactNode;
}) {
  const item = useQuery({
    queryKey: [queryKey, id],
    queryFn: () => load(id ?? ""),
    enabled: id !== undefined,
    staleTime: 0,
  });
  if (id === undefined) return <>{render()}</>;
  if (item.isPending) return <Loading label={`Loading ${what}…`} />;
  if (item.isError) return <ErrorState error={item.error} onRetry={() => void item.refetch()} />;
  return <Fragment key={item.data.data.id}>{render(item.data.data)}</Fragment>;
}
