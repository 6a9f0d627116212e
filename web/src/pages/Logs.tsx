import { useState } from "react";

import { INPUT, SECONDARY } from "../components/Form.tsx";
import { Empty, ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import { formatDateTime } from "../lib/format.ts";
import { useDebounced } from "../lib/hooks/common.ts";
import {
  LOG_LEVELS,
  LOG_SERVICES,
  useSystemLogs,
  type LogLevel,
  type LogService,
  type SystemLogLine,
} from "../lib/hooks/logs.ts";

const BADGE = "inline-flex items-center rounded px-1.5 py-0.5 text-xs font-semibold uppercase tracking-wide";

const LEVEL_TONE: Record<LogLevel, string> = {
  debug: "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400",
  info: "bg-sky-100 text-sky-800 dark:bg-sky-900/40 dark:text-sky-300",
  warning: "bg-amber-100 text-amber-800 dark:bg-amber-900/40 dark:text-amber-300",
  error: "bg-red-100 text-red-800 dark:bg-red-900/40 dark:text-red-300",
  critical: "bg-red-600 text-white dark:bg-red-700",
};

function LogRow({ line, onExecution }: { line: SystemLogLine; onExecution: (id: string) => void }) {
  const execution = line.executionId;
  return (
    <li data-testid="log-line" data-level={line.level} data-service={line.service} className="px-1 py-2 sm:px-3">
      <div className="flex flex-wrap items-center gap-x-2 gap-y-1 text-xs text-zinc-500 dark:text-zinc-400">
        <time dateTime={line.time} className="font-mono tabular-nums">
          {formatDateTime(line.time)}
        </time>
        <span className={`${BADGE} ${LEVEL_TONE[line.level]}`}>{line.level}</span>
        <span className="font-medium text-zinc-700 dark:text-zinc-200" title={`instance ${line.instance}`}>
          {line.service}
        </span>
        <span className="truncate font-mono" title={line.logger}>
          {line.logger}
        </span>
        {execution && (
          <button
            type="button"
            onClick={() => onExecution(execution)}
            className="font-mono text-orange-700 hover:underline dark:text-orange-400"
            title={`Execution ${execution}: show only its lines`}
          >
            exec {execution.slice(0, 8)}
          </button>
        )}
      </div>
      <p className="mt-1 whitespace-pre-wrap break-words font-mono text-sm text-zinc-900 dark:text-zinc-100">{line.message}</p>
      {line.traceback && (
        <details className="mt-1">
          <summary className="cursor-pointer text-xs text-zinc-500 hover:text-zinc-700 dark:text-zinc-400 dark:hover:text-zinc-200">Traceback</summary>
          <pre className="mt-1 overflow-x-auto rounded bg-zinc-100 p-2 text-xs dark:bg-zinc-950">{line.traceback}</pre>
        </details>
      )}
    </li>
  );
}

export function Logs() {
  const [service, setService] = useState<LogService | "">("");
  const [level, setLevel] = useState<LogLevel | "">("");
  const [text, setText] = useState("");
  const [live, setLive] = useState(true);
  const q = useDebounced(text.trim(), 300);
  const filters = { service: service || undefined, level: level || undefined, q: q || undefined };
  const logs = useSystemLogs(filters, live);
  const filtered = Boolean(service || level || q);

  return (
    <>
      <PageHeader
        title="Logs"
        actions={
          <button type="button" className={SECONDARY} onClick={() => setLive(!live)} aria-pressed={live} data-testid="logs-live">
            <span aria-hidden="true" className={`mr-1.5 inline-block size-2 rounded-full ${live ? "animate-pulse bg-emerald-500" : "bg-zinc-400"}`} />
            {live ? "Live" : "Paused"}
          </button>
        }
      />
      <div className="space-y-4">
        <form role="search" className="grid grid-cols-2 gap-3 sm:grid-cols-[10rem_10rem_1fr]" onSubmit={(event) => event.preventDefault()}>
          <label className="text-sm">
            <span className="mb-1 block font-medium">Service</span>
            <select className={INPUT} value={service} onChange={(event) => setService(event.target.value as LogService | "")} data-testid="logs-service">
              <option value="">All services</option>
              {LOG_SERVICES.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          <label className="text-sm">
            <span className="mb-1 block font-medium">Level</span>
            <select className={INPUT} value={level} onChange={(event) => setLevel(event.target.value as LogLevel | "")} data-testid="logs-level">
              <option value="">Any level</option>
              {LOG_LEVELS.map((name) => (
                <option key={name} value={name}>
                  {name} and worse
                </option>
              ))}
            </select>
          </label>
          <label className="col-span-2 text-sm sm:col-span-1">
            <span className="mb-1 block font-medium">Text</span>
            <input
              type="search"
              className={INPUT}
              value={text}
              onChange={(event) => setText(event.target.value)}
              placeholder="Message, logger, instance or execution id"
              data-testid="logs-text"
            />
          </label>
        </form>
        <Panel>
          {logs.isPending ? (
            <Loading label="Loading logs…" />
          ) : logs.isError ? (
            <ErrorState error={logs.error} onRetry={() => void logs.refetch()} />
          ) : logs.data.data.length === 0 ? (
            <Empty>
              {filtered
                ? "No log line matches these filters."
                : "No log lines yet. The API keeps its own lines and the warnings and errors the scheduler and executors send."}
            </Empty>
          ) : (
            <>
              <p className="mb-2 text-xs text-zinc-500 dark:text-zinc-400" data-testid="logs-count">
                {logs.data.data.length === 1 ? "1 line" : `${logs.data.data.length} lines`}, newest first
                {logs.isFetching && live ? " · updating" : ""}
              </p>
              <ol className="divide-y divide-zinc-200 dark:divide-zinc-800" aria-label="Log lines">
                {logs.data.data.map((line) => (
                  <LogRow key={line.seq} line={line} onExecution={setText} />
                ))}
              </ol>
            </>
          )}
        </Panel>
        <p className="text-xs text-zinc-500 dark:text-zinc-400">
          The API keeps the last 5,000 lines in memory: its own (info and worse) and the warnings and errors of the scheduler and executors. Secrets are masked before a line leaves its service.
        </p>
      </div>
    </>
  );
}
