import { useEffect, useRef, type ReactNode } from "react";

import type { LogLine } from "../lib/api.ts";

const LEVEL_STYLE: Record<string, string> = {
  error: "text-red-400",
  warn: "text-amber-300",
  info: "text-zinc-200",
  debug: "text-zinc-500",
};

/** Execution log lines, newest at the bottom; follows the end while more arrive. */
export function LogView({ logs, live, empty }: { logs: LogLine[]; live: boolean; empty?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [logs.length]);
  return (
    <div
      ref={box}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
      role="log"
      aria-live={live ? "polite" : "off"}
      aria-label="Execution log"
      data-testid="execution-log"
      className="max-h-[28rem] overflow-auto rounded-lg bg-zinc-950 p-3 font-mono text-xs leading-relaxed text-zinc-200"
    >
      {logs.length === 0 ? (
        <p className="text-zinc-500">{empty ?? (live ? "Waiting for the executor…" : "No log lines.")}</p>
      ) : (
        logs.map((line) => (
          <p key={line.id} className="break-words whitespace-pre-wrap" data-testid="log-line">
            <span className="text-zinc-500">{new Date(line.timestamp).toLocaleTimeString()}</span>{" "}
            <span className={`font-semibold uppercase ${LEVEL_STYLE[line.logLevel] ?? ""}`}>[{line.logLevel}]</span>{" "}
            <span className={line.logLevel === "error" ? "text-red-300" : ""}>{line.message}</span>
          </p>
        ))
      )}
      {live && logs.length > 0 && <p className="animate-pulse text-zinc-500">…</p>}
    </div>
  );
}

/** One labelled value of a details grid (inside a <dl>). */
export function Detail({ label, children, className = "" }: { label: string; children: ReactNode; className?: string }) {
  return (
    <div className={className}>
      <dt className="text-xs font-semibold uppercase tracking-wide text-zinc-500 dark:text-zinc-400">{label}</dt>
      <dd className="mt-0.5 text-sm break-words">{children}</dd>
    </div>
  );
}
