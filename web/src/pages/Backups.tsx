import { BackupTable } from "../components/BackupTable.tsx";
import { FilterBar, FilterDate, FilterSelect, Pagination } from "../components/ListControls.tsx";
import { Empty, ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import type { BackupQuery, BackupSort, BackupStatus, BackupType, SortOrder, StorageLocation } from "../lib/api.ts";
import { useBackups } from "../lib/hooks/backups.ts";
import { useDatabases } from "../lib/hooks/databases.ts";
import { dayBound, oneOf, pageOf, useUrlParams } from "../lib/urlState.ts";

const PAGE_SIZE = 50;
const STATUSES: readonly BackupStatus[] = ["pending", "running", "completed", "failed", "cancelled", "skipped"];
const TYPES: readonly BackupType[] = ["manual", "hourly", "daily", "weekly", "monthly", "custom", "pre-restore"];
const STORAGE: readonly StorageLocation[] = ["local", "s3", "local-only"];
const STORAGE_LABEL: Record<StorageLocation, string> = { local: "Local copy", s3: "S3 (uploaded)", "local-only": "Not on S3" };

/** The sort choices: a column and a direction, as `column:order` in one select. */
const BACKUP_SORTS: { value: `${BackupSort}:${SortOrder}`; label: string }[] = [
  { value: "startedAt:desc", label: "Newest first" },
  { value: "startedAt:asc", label: "Oldest first" },
  { value: "size:desc", label: "Largest first" },
  { value: "size:asc", label: "Smallest first" },
  { value: "duration:desc", label: "Slowest first" },
  { value: "duration:asc", label: "Fastest first" },
];
const DEFAULT_SORT = "startedAt:desc";
const FILTER_KEYS = ["databaseId", "type", "status", "storage", "from", "to"] as const;

export function Backups() {
  const [params, update] = useUrlParams();
  const page = pageOf(params);
  const databaseId = params.get("databaseId") ?? "";
  const status = oneOf(params.get("status"), STATUSES);
  const type = oneOf(params.get("type"), TYPES);
  const storage = oneOf(params.get("storage"), STORAGE);
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  const sortChoice = oneOf(params.get("sort"), BACKUP_SORTS.map((sort) => sort.value)) ?? DEFAULT_SORT;
  const [sort, order] = sortChoice.split(":") as [BackupSort, SortOrder];

  const query: BackupQuery = {
    page,
    limit: PAGE_SIZE,
    databaseId: databaseId || undefined,
    status,
    type,
    storage,
    startDate: dayBound(from, "start"),
    endDate: dayBound(to, "end"),
    ...(sortChoice === DEFAULT_SORT ? {} : { sort, order }),
  };
  const backups = useBackups(query);
  const databases = useDatabases();
  const filtered = FILTER_KEYS.some((key) => params.get(key));

  return (
    <>
      <PageHeader title="Backups" />
      <FilterBar
        label="Filter backups"
        active={filtered || sortChoice !== DEFAULT_SORT}
        onClear={() => update(Object.fromEntries([...FILTER_KEYS, "sort"].map((key) => [key, undefined])))}
      >
        <FilterSelect
          id="filter-database"
          label="Database"
          value={databaseId}
          onChange={(value) => update({ databaseId: value })}
          choices={(databases.data?.data ?? []).map((database) => ({ value: database.id, label: database.name }))}
        />
        <FilterSelect id="filter-type" label="Type" value={type ?? ""} onChange={(value) => update({ type: value })} choices={TYPES.map((value) => ({ value, label: value }))} />
        <FilterSelect
          id="filter-status"
          label="Status"
          value={status ?? ""}
          onChange={(value) => update({ status: value })}
          choices={STATUSES.map((value) => ({ value, label: value }))}
        />
        <FilterSelect
          id="filter-storage"
          label="Stored in"
          value={storage ?? ""}
          onChange={(value) => update({ storage: value })}
          choices={STORAGE.map((value) => ({ value, label: STORAGE_LABEL[value] }))}
        />
        <FilterDate id="filter-from" label="From" value={from} max={to || undefined} onChange={(value) => update({ from: value })} />
        <FilterDate id="filter-to" label="To" value={to} min={from || undefined} onChange={(value) => update({ to: value })} />
        <FilterSelect
          id="filter-sort"
          label="Sort"
          value={sortChoice}
          anyLabel={false}
          onChange={(value) => update({ sort: value === DEFAULT_SORT ? undefined : value })}
          choices={BACKUP_SORTS}
        />
      </FilterBar>
      <Panel>
        {backups.isPending ? (
          <Loading label="Loading backups…" />
        ) : backups.isError ? (
          <ErrorState error={backups.error} onRetry={() => void backups.refetch()} />
        ) : backups.data.data.length === 0 ? (
          <Empty>{filtered ? "No backups match these filters." : "No backups yet."}</Empty>
        ) : (
          <div aria-busy={backups.isFetching && backups.isPlaceholderData}>
            <BackupTable
              backups={backups.data.data}
              sorting={{
                sort,
                order,
                // The same column again flips the order; another starts largest / newest first.
                onSort: (column) => {
                  const next = `${column}:${column === sort && order === "desc" ? "asc" : "desc"}`;
                  update({ sort: next === DEFAULT_SORT ? undefined : next });
                },
              }}
            />
            <Pagination page={page} total={backups.data.meta.total} pageSize={PAGE_SIZE} noun="backups" onPage={(next) => update({ page: String(next) })} />
          </div>
        )}
      </Panel>
    </>
  );
}
