// Toasts: short notes on the outcome of an action ("Backup of shop started", "Delete failed:
// …"), shown by <Toaster/> (components/Toaster.tsx). A module-level store, so mutation hooks
// can raise one without a React context.

export type ToastTone = "success" | "error" | "info";

export interface Toast {
  id: number;
  tone: ToastTone;
  message: string;
  /** A page to go on to ("Follow it"). */
  link?: { to: string; label: string };
}

let toasts: readonly Toast[] = [];
let nextId = 1;
const listeners = new Set<() => void>();
const timers = new Map<number, number>();

/** How long a toast stays: errors longer, they may need reading. */
const LIFETIME: Record<ToastTone, number> = { success: 5_000, info: 5_000, error: 10_000 };
const MAX_SHOWN = 4;

function emit(): void {
  for (const listener of listeners) listener();
}

export function dismissToast(id: number): void {
  const timer = timers.get(id);
  if (timer !== undefined) window.clearTimeout(timer);
  timers.delete(id);
  toasts = toasts.filter((toast) => toast.id !== id);
  emit();
}

/** Show a toast; returns its id. The same message twice in a row is shown once (restarted). */
export function showToast(tone: ToastTone, message: string, link?: Toast["link"]): number {
  const same = toasts.find((toast) => toast.tone === tone && toast.message === message);
  if (same) dismissToast(same.id);
  const id = nextId++;
  toasts = [...toasts, { id, tone, message, ...(link ? { link } : {}) }].slice(-MAX_SHOWN);
  timers.set(id, window.setTimeout(() => dismissToast(id), LIFETIME[tone]));
  emit();
  return id;
}

/** Keep a toast while the pointer or focus is on it. */
export function holdToast(id: number): void {
  const timer = timers.get(id);
  if (timer !== undefined) window.clearTimeout(timer);
  timers.delete(id);
}

export function releaseToast(id: number): void {
  const toast = toasts.find((item) => item.id === id);
  if (!toast || timers.has(id)) return;
  timers.set(id, window.setTimeout(() => dismissToast(id), LIFETIME[toast.tone]));
}

export const toast = {
  success: (message: string, link?: Toast["link"]) => showToast("success", message, link),
  error: (message: string, link?: Toast["link"]) => showToast("error", message, link),
  info: (message: string, link?: Toast["link"]) => showToast("info", message, link),
};

export function subscribeToasts(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function currentToasts(): readonly Toast[] {
  return toasts;
}
