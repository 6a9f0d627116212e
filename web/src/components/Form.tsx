import type { ReactNode } from "react";

import { ApiError } from "../lib/api.ts";

export { BUTTON, CHECKBOX, DANGER, INPUT, LINK, SECONDARY, SELECT, TD, TH } from "./styles.ts";

/** A labelled form control with an optional hint and error (the error is announced). */
export function Field({
  id,
  label,
  hint,
  error,
  children,
  className = "",
}: {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string | null;
  children: ReactNode;
  className?: string;
}) {
  return (
    <div className={className}>
      <label htmlFor={id} className="mb-1 block text-sm font-medium text-zinc-700 dark:text-zinc-300">
        {label}
      </label>
      {children}
      {hint && !error && (
        <p id={`${id}-hint`} className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} role="alert" className="mt-1 text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
    </div>
  );
}

/** An on/off switch (a button with role="switch"). */
export function Toggle({
  checked,
  onChange,
  label,
  disabled = false,
}: {
  checked: boolean;
  onChange: (next: boolean) => void;
  label: string;
  disabled?: boolean;
}) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      disabled={disabled}
      onClick={() => onChange(!checked)}
      className={`relative inline-flex h-5 w-9 shrink-0 items-center rounded-full transition-colors disabled:cursor-not-allowed disabled:opacity-50 ${
        checked ? "bg-orange-600" : "bg-zinc-300 dark:bg-zinc-700"
      }`}
    >
      <span
        aria-hidden="true"
        className={`inline-block size-4 rounded-full bg-white shadow transition-transform ${
          checked ? "translate-x-4.5" : "translate-x-0.5"
        }`}
      />
    </button>
  );
}

/** The outcome of a mutation, announced politely. */
export function FormStatus({ error, success }: { error?: Error | null; success?: string | null }) {
  return (
    <div aria-live="polite" className="text-sm">
      {error && <p className="text-red-700 dark:text-red-400">{error.message}</p>}
      {!error && success && <p className="text-emerald-700 dark:text-emerald-400">{success}</p>}
    </div>
  );
}

/** A short note that a role cannot change things here. */
export function ReadOnlyNote({ children }: { children: ReactNode }) {
  return (
    <p className="mb-4 rounded-md border border-zinc-200 bg-zinc-100 px-3 py-2 text-sm text-zinc-600 dark:border-zinc-800 dark:bg-zinc-900 dark:text-zinc-400">
      {children}
    </p>
  );
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Per-field messages of a VALIDATION_ERROR (`details: [{field, message}]`), keyed in camelCase. */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(error instanceof ApiError) || !Array.isArray(error.details)) return out;
  for (const item of error.details as unknown[]) {
    if (item && typeof item === "object" && "field" in item) {
      const field = camel(String((item as { field: unknown }).field)).replace(/^options\./, "");
      const message = "message" in item ? String((item as { message: unknown }).message) : "invalid";
      out[field] = out[field] ? `${out[field]}; ${message}` : message;
    }
  }
  return out;
}

let zones: string[] | null = null;

/** IANA time zone names the browser knows (with UTC first). */
export function timeZones(): string[] {
  if (zones === null) {
    let names: string[] = [];
    try {
      names = Intl.supportedValuesOf("timeZone");
    } catch {
      names = [];
    }
    zones = ["UTC", ...names.filter((name) => name !== "UTC")];
  }
  return zones;
}

export function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** A <datalist> of IANA zones for a text input (`list={id}`); free text stays possible. */
export function ZoneList({ id }: { id: string }) {
  return (
    <datalist id={id}>
      {timeZones().map((zone) => (
        <option key={zone} value={zone} />
      ))}
    </datalist>
  );
}

/** "Tue, Dec 2, 2025, 02:00" as the wall clock of `zone` (falls back to the browser's zone). */
export function formatInZone(iso: string | null | undefined, zone: string): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  try {
    return new Intl.DateTimeFormat(undefined, {
      weekday: "short",
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZone: zone,
    }).format(date);
  } catch {
    return date.toLocaleString();
  }
}

/** Whether any field of `value` differs from `initial` (shallow). */
export function changedFields<T extends object>(initial: T, value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] !== initial[key]) out[key] = value[key];
  }
  return out;
}
