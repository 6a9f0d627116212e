import { useId, useState, type ReactNode } from "react";

import { SECONDARY, SELECT } from "./styles.ts";

export interface Choice {
  value: string;
  label: string;
}

/** A labelled <select> of a list's filter bar ("" is the "any" choice). */
export function FilterSelect({
  id,
  label,
  value,
  choices,
  onChange,
  anyLabel = "Any",
}: {
  id: string;
  label: string;
  value: string;
  choices: Choice[];
  onChange: (value: string) => void;
  anyLabel?: string | false;
}) {
  return (
    <div className="flex min-w-0 flex-col gap-1">
      <label htmlFor={id} className="text-xs font-medium text-zinc-600 dark:text-zinc-400">
        {label}
      </label>
      <select id={id} value={value} onChange={(event) => onChange(event.target.value)} className={`${SELECT} w-full`}>
        {anyLabel !== false && <option value="">{anyLabel}</option>}
        {choices.map((choice) => (
          <option key={choice.value} value={choice.value}>
            {choice.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A labelled date input (YYYY-MM-DD, the browser's calendar). */
export function FilterDate({
  id,
  label,
  value,
  onChange,
  min,
  max,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  min?: string;
  max?: string;
}) {
  return (
    <div className="flex min-w-0 flex-col gap-1">
      <label htmlFor={id} className="text-xs font-medium text-zinc-600 dark:text-zinc-400">
        {label}
      </label>
      <input
        id={id}
        type="date"
        value={value}
        min={min}
        max={max}
        onChange={(event) => onChange(event.target.value)}
        className={`${SELECT} w-full`}
      />
    </div>
  );
}

/** The filter bar above a list: a grid of controls and "Clear filters". On phones it is
 * folded behind a "Filters" button (open by itself when some filter is set). */
export function FilterBar({ label, children, active, onClear }: { label: string; children: ReactNode; active: boolean; onClear: () => void }) {
  const id = useId();
  const [open, setOpen] = useState(active);
  return (
    <>
      <button
        type="button"
        className={`${SECONDARY} mb-3 w-full sm:hidden`}
        aria-expanded={open}
        aria-controls={id}
        onClick={() => setOpen(!open)}
      >
        {open ? "Hide filters" : active ? "Filters (active)" : "Filters and sorting"}
      </button>
    <form
      id={id}
      role="search"
      aria-label={label}
      className={`mb-4 grid-cols-2 items-end gap-3 sm:grid sm:grid-cols-3 lg:grid-cols-[repeat(auto-fit,minmax(9rem,1fr))] ${open ? "grid" : "hidden"}`}
      onSubmit={(event) => event.preventDefault()}
    >
      {children}
      <div className="flex items-end">
        <button type="button" className={`${SECONDARY} h-9 w-full sm:w-auto`} disabled={!active} onClick={onClear} data-testid="clear-filters">
          Clear filters
        </button>
      </div>
    </form>
    </>
  );
}

/** "Page 2 of 5 · 212 backups" with Previous / Next. */
export function Pagination({
  page,
  total,
  pageSize,
  noun,
  onPage,
}: {
  page: number;
  total: number | null | undefined;
  pageSize: number;
  noun: string;
  onPage: (page: number) => void;
}) {
  const lastPage = total == null ? page : Math.max(1, Math.ceil(total / pageSize));
  return (
    <nav aria-label="Pagination" className="mt-4 flex items-center justify-between gap-2 text-sm">
      <span className="text-zinc-500 dark:text-zinc-400" data-testid="list-total">
        Page {page} of {lastPage}
        {total != null && ` · ${total} ${noun}`}
      </span>
      <div className="flex gap-2">
        <button type="button" className={SECONDARY} disabled={page <= 1} onClick={() => onPage(page - 1)}>
          Previous
        </button>
        <button type="button" className={SECONDARY} disabled={page >= lastPage} onClick={() => onPage(page + 1)}>
          Next
        </button>
      </div>
    </nav>
  );
}
