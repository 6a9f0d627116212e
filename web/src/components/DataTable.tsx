import { useLayoutEffect, useRef, type ReactNode } from "react";

import { TH } from "./styles.ts";

/** A column header: its label, right-aligned for numbers, or read by screen readers only
 * (an actions column). `false` leaves the column out (e.g. in a compact table). */
export type Column = string | { label: string; align?: "right"; srOnly?: boolean } | false;

interface Shown {
  label: string;
  align?: "right";
  srOnly: boolean;
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
            {headers.map(({ label, align, srOnly }, index) => (
              <th key={`${index}-${label}`} scope="col" className={align === "right" ? `${TH} text-right` : TH}>
                {srOnly ? <span className="sr-only">{label}</span> : label}
              </th>
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
