import type { ReactNode } from "react";

import { TH } from "./Form.tsx";

/** A column header: its label, right-aligned for numbers, or read by screen readers only
 * (an actions column). `false` leaves the column out (e.g. in a compact table). */
export type Column = string | { label: string; align?: "right"; srOnly?: boolean } | false;

/** The app's list table: horizontal scroll on narrow screens, one header row, divided rows. */
export function DataTable({ columns, children }: { columns: Column[]; children: ReactNode }) {
  return (
    <div className="overflow-x-auto">
      <table className="min-w-full divide-y divide-zinc-200 dark:divide-zinc-800">
        <thead>
          <tr>
            {columns.map((column, index) => {
              if (column === false) return null;
              const { label, align, srOnly } = typeof column === "string" ? { label: column, align: undefined, srOnly: false } : column;
              return (
                <th key={`${index}-${label}`} scope="col" className={align === "right" ? `${TH} text-right` : TH}>
                  {srOnly ? <span className="sr-only">{label}</span> : label}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800/60">{children}</tbody>
      </table>
    </div>
  );
}
