import { useLayoutEffect, useRef, type ReactNode } from "react";

import { TH } from "./styles.ts";

/** A column header: its label, right-aligned for numbers, or read by screen readers only
 * (an actions column). `false` leaves the column out (e.g. in a compact table). */
export type Column = string | { label: string; align?: "right"; srOnly?: boolean; sort?: ColumnSort } | false;

/** A sortable column: how the list is sorted by it now (null: by another) and how to change. */
export interface ColumnSort {
  direction: "asc" | "desc" | null;
  onSort: () => void;
}

interface Shown {
  label: string;
  align?: "right";
  srOnly: boolean;
  sort?: ColumnSort;
}

const ARIA_SORT = { asc: "ascending", desc: "descending" } as const;

function Header({ label, align, srOnly, sort }: Shown) {
  const className = align === "right" ? `${TH} text-right` : TH;
  if (srOnly) {
    return (
      <th scope="col" className={className}>
        <span className="sr-only">{label}</span>
      </th>
    );
  }
  if (!sort) {
    return (
      <th scope="col" className={className}>
        {label}
      </th>
    );
  }
  return (
    <th scope="col" className={className} aria-sort={sort.direction ? ARIA_SORT[sort.direction] : "none"}>
      <button
        type="button"
        onClick={sort.onSort}
        className={`inline-flex items-center gap-1 uppercase tracking-wide hover:text-zinc-900 dark:hover:text-zinc-100 ${
          sort.direction ? "text-zinc-900 dark:text-zinc-100" : ""
        }`}
        title={`Sort by ${label.toLowerCase()}`}
      >
        {label}
        <span aria-hidden="true" className={sort.direction ? "" : "opacity-30"}>
          {sort.direction === "asc" ? "▲" : "▼"}
        </span>
      </button>
    </th>
  );
}

function shown(columns: Column[]): Shown[] {
  return columns
    .filter((column) => column !== false)
    .map((column) => (typeof column === "string" ? { label: column, srOnly: false } : { srOnly: false, ...column }));
}

/** Put each column's label on its cells (`data-label`): the card layout of narrow screens
 * (index.css, `.data-table`) shows it before the value. Done on the DOM, so rows rendered by
 * row components (and rows they add later) are labelled too. */
function useCellLabels(headers: Shown[]) {
  const body = useRef<HTMLTableSectionElement>(null);
  const labels = headers.map((header) => (header.srOnly ? "" : header.label));
  const key = JSON.stringify(labels);
  useLayoutEffect(() => {
    const tbody = body.current;
    if (!tbody) return;
    const wanted = JSON.parse(key) as string[];
    const label = () => {
      for (const row of Array.from(tbody.rows)) {
        Array.from(row.cells).forEach((cell, index) => {
          const text = wanted[index] ?? "";
          if (cell.dataset.label !== text) cell.dataset.label = text;
        });
      }
    };
    label();
    const observer = new MutationObserver(label);
    observer.observe(tbody, { childList: true, subtree: true });
    return () => observer.disconnect();
  }, [key]);
  return body;
}

/** The app's list table: one header row, divided rows; on narrow screens (< 640px) each row is
 * shown as a card, each cell with its column's label (no horizontal scrolling). */
export function DataTable({ columns, children, caption }: { columns: Column[]; children: ReactNode; caption?: string }) {
  const headers = shown(columns);
  const body = useCellLabels(headers);
  return (
    <div className="sm:overflow-x-auto">
      <table className="data-table min-w-full divide-y divide-zinc-200 dark:divide-zinc-800">
        {caption && <caption className="sr-only">{caption}</caption>}
        <thead>
          <tr>
            {headers.map((header, index) => (
              <Header key={`${index}-${header.label}`} {...header} />
            ))}
          </tr>
        </thead>
        <tbody ref={body} className="divide-y divide-zinc-100 dark:divide-zinc-800/60">
          {children}
        </tbody>
      </table>
    </div>
  );
}
