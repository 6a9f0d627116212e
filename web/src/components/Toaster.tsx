import { useSyncExternalStore } from "react";

import { Link } from "../lib/router.tsx";
import { currentToasts, dismissToast, holdToast, releaseToast, subscribeToasts, type Toast } from "../lib/toast.ts";

const TONE: Record<Toast["tone"], string> = {
  success: "border-emerald-300 bg-emerald-50 text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-100",
  info: "border-zinc-300 bg-white text-zinc-900 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100",
  error: "border-red-300 bg-red-50 text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100",
};

const ICON: Record<Toast["tone"], string> = { success: "✓", info: "i", error: "!" };

function Item({ toast }: { toast: Toast }) {
  return (
    <div
      className={`pointer-events-auto flex items-start gap-3 rounded-lg border px-4 py-3 text-sm shadow-lg ${TONE[toast.tone]}`}
      data-testid="toast"
      data-tone={toast.tone}
      onMouseEnter={() => holdToast(toast.id)}
      onMouseLeave={() => releaseToast(toast.id)}
      onFocus={() => holdToast(toast.id)}
      onBlur={() => releaseToast(toast.id)}
    >
      <span aria-hidden="true" className="mt-0.5 inline-flex size-4 shrink-0 items-center justify-center rounded-full border border-current text-[10px] font-bold">
        {ICON[toast.tone]}
      </span>
      <p className="min-w-0 flex-1 break-words">
        {toast.message}
        {toast.link && (
          <>
            {" "}
            <Link to={toast.link.to} className="font-medium underline underline-offset-2" onClick={() => dismissToast(toast.id)}>
              {toast.link.label}
            </Link>
          </>
        )}
      </p>
      <button
        type="button"
        onClick={() => dismissToast(toast.id)}
        className="-m-1 shrink-0 rounded p-1 opacity-70 hover:opacity-100 focus-visible:opacity-100"
        aria-label="Dismiss notification"
      >
        <span aria-hidden="true">×</span>
      </button>
    </div>
  );
}

/** The toasts, bottom right (bottom, full width on phones). Successes are announced politely
 * (role=status), failures at once (role=alert); both regions exist from the start so screen
 * readers pick up what is added to them. */
export function Toaster() {
  const toasts = useSyncExternalStore(subscribeToasts, currentToasts);
  const polite = toasts.filter((toast) => toast.tone !== "error");
  const urgent = toasts.filter((toast) => toast.tone === "error");
  return (
    <div className="pointer-events-none fixed inset-x-0 bottom-0 z-50 flex flex-col items-stretch gap-2 p-4 sm:inset-x-auto sm:right-0 sm:w-96">
      <div role="alert" aria-label="Errors" className="flex flex-col gap-2 empty:hidden">
        {urgent.map((toast) => (
          <Item key={toast.id} toast={toast} />
        ))}
      </div>
      <div role="status" aria-label="Notifications" className="flex flex-col gap-2 empty:hidden">
        {polite.map((toast) => (
          <Item key={toast.id} toast={toast} />
        ))}
      </div>
    </div>
  );
}
