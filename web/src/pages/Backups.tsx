import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { BackupTable } from "../components/BackupTable.tsx";
import { isActive } from "../components/StatusBadge.tsx";
import { Empty, ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import { api } from "../lib/api.ts";
import { navigate, useSearch } from "../lib/router.tsx";
import { queryKeys } from "../lib/queryKeys.ts";

const PAGE_SIZE = 50;
const STATUSES = ["", "running", "completed", "failed"] as const;

export function Backups() {
  const params = new URLSearchParams(useSearch());
  const page = Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
  const status = params.get("status") ?? "";
  const databaseId = params.get("databaseId") ?? "";

  const setParam = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    if (key !== "page") next.delete("page");
    const text = next.toString();
    navigate(`/backups${text ? `?${text}` : ""}`, { replace: true });
  };

  const filters = { page, limit: PAGE_SIZE, status: status || undefined, databaseId: databaseId || undefined };
  const backups = useQuery({
    queryKey: queryKeys.backups(filters),
    queryFn: () => api.backups(filters),
    placeholderData: keepPreviousData,
    refetchInterval: (query) =>
      query.state.data?.data.some((backup) => isActive(backup.status)) ? 3_000 : 30_000,
  });

  const total = backups.data?.meta.total;
  const lastPage = total == null ? page : Math.max(1, Math.ceil(total / PAGE_SIZE));

  return (
    <>
      <PageHeader
        title="Backups"
        actions={
          <label className="flex items-center gap-2 text-sm">
            Status
            <select
              value={status}
              onChange={(event) => setParam("status", event.target.value)}
              className="rounded-md border border-zinc-300 bg-white px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900"
            >
              {STATUSES.map((value) => (
                <option key={value} value={value}>
                  {value || "all"}
                </option>
              ))}
            </select>
          </label>
        }
      />
      {databaseId && (
        <p className="mb-4 text-sm text-zinc-600 dark:text-zinc-400">
          Showing one database only.{" "}
          <button type="button" className="text-orange-700 hover:underline dark:text-orange-400" onClick={() => setParam("databaseId", "")}>
            Show all
          </button>
        </p>
      )}
      <Panel>
        {backups.isPending ? (
          <Loading label="Loading backups…" />
        ) : backups.isError ? (
          <ErrorState error={backups.error} onRetry={() => void backups.refetch()} />
        ) : backups.data.data.length === 0 ? (
          <Empty>No backups match.</Empty>
        ) : (
          <>
            <BackupTable backups={backups.data.data} />
            <nav aria-label="Pagination" className="mt-4 flex items-center justify-between text-sm">
              <span className="text-zinc-500 dark:text-zinc-400">
                Page {page} of {lastPage}
                {total !== undefined && ` · ${total} backups`}
              </span>
              <div className="flex gap-2">
                <button
                  type="button"
                  disabled={page <= 1}
                  onClick={() => setParam("page", String(page - 1))}
                  className="rounded-md border border-zinc-300 px-3 py-1 disabled:opacity-40 dark:border-zinc-700"
                >
                  Previous
                </button>
                <button
                  type="button"
                  disabled={page >= lastPage}
                  onClick={() => setParam("page", String(page + 1))}
                  className="rounded-md border border-zinc-300 px-3 py-1 disabled:opacity-40 dark:border-zinc-700"
                >
                  Next
                </button>
              </div>
            </nav>
          </>
        )}
      </Panel>
    </>
  );
}
