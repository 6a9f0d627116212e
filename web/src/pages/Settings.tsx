import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent, type ReactNode } from "react";

import { BUTTON, DANGER, FormStatus, INPUT, ReadOnlyNote, SECONDARY, TD, Toggle } from "../components/Form.tsx";
import { ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import { can, useMe } from "../lib/auth.ts";
import { formatBytes, formatDateTime, formatDuration } from "../lib/format.ts";
import { api, type MaintenanceTask, type Setting } from "../lib/api.ts";
import { ImportSummary } from "./S3Configs.tsx";
import { DataTable } from "../components/DataTable.tsx";
import { ConfigTransfer } from "../components/ConfigTransfer.tsx";
import { queryKeys } from "../lib/queryKeys.ts";
import { useSettings, useSystemStatus } from "../lib/hooks/system.ts";

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt className="text-xs font-semibold uppercase tracking-wide text-zinc-500 dark:text-zinc-400">{label}</dt>
      <dd className="mt-0.5 text-sm break-words">{children}</dd>
    </div>
  );
}

function Status() {
  const status = useSystemStatus();
  if (status.isPending) return <Loading label="Loading status…" />;
  if (status.isError) return <ErrorState error={status.error} onRetry={() => void status.refetch()} />;
  const s = status.data.data;
  const usedShare = s.disk.totalBytes > 0 ? Math.round((s.disk.usedBytes / s.disk.totalBytes) * 100) : 0;
  return (
    <dl className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4" data-testid="system-status">
      <Fact label="Status">
        <span className={s.status === "ok" ? "text-emerald-700 dark:text-emerald-400" : "text-amber-700 dark:text-amber-400"}>{s.status}</span>
      </Fact>
      <Fact label="Version">{s.version}</Fact>
      <Fact label="Up for">{formatDuration(s.uptimeSeconds)}</Fact>
      <Fact label="Time zone">{s.timezone}</Fact>
      <Fact label="NATS">
        <span className={s.nats.connected ? "text-emerald-700 dark:text-emerald-400" : "text-red-700 dark:text-red-400"}>
          {s.nats.connected ? "connected" : "disconnected"}
        </span>{" "}
        <span className="font-mono text-xs text-zinc-500 dark:text-zinc-400">{s.nats.url}</span>
      </Fact>
      <Fact label="Backup storage">
        {formatBytes(s.disk.freeBytes)} free of {formatBytes(s.disk.totalBytes)}
        <meter className="mt-1 block h-2 w-full" min={0} max={100} low={80} high={90} optimum={0} value={usedShare} aria-label={`${usedShare}% used`} />
        <span className="font-mono text-xs text-zinc-500 dark:text-zinc-400">{s.disk.path}</span>
      </Fact>
      <Fact label="Lifeboat database">
        {formatBytes(s.database.sizeBytes)} <span className="block font-mono text-xs text-zinc-500 dark:text-zinc-400">{s.database.path}</span>
      </Fact>
      <Fact label="Started">{formatDateTime(s.startedAt)}</Fact>
    </dl>
  );
}

function displayValue(setting: Setting): string {
  if (setting.valueType === "json") return JSON.stringify(setting.value);
  return String(setting.value);
}

function parseValue(text: string, type: Setting["valueType"]): unknown {
  if (type === "number") return Number(text);
  if (type === "boolean") return text === "true";
  if (type === "json") return JSON.parse(text) as unknown;
  return text;
}

function SettingRow({ setting, canConfigure }: { setting: Setting; canConfigure: boolean }) {
  const queryClient = useQueryClient();
  const [text, setText] = useState(displayValue(setting));
  const save = useMutation({
    mutationFn: (value: unknown) => api.putSettings({ [setting.key]: value }),
    onSuccess: (result) => queryClient.setQueryData(["settings"], result),
  });
  const [parseError, setParseError] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    try {
      setParseError(null);
      save.mutate(parseValue(text, setting.valueType));
    } catch {
      setParseError("Not valid JSON.");
    }
  };
  return (
    <tr data-testid="setting-row">
      <td className={`${TD} align-top`}>
        <span className="font-mono text-xs font-medium">{setting.key}</span>
        {setting.description && <span className="block text-xs text-zinc-500 dark:text-zinc-400">{setting.description}</span>}
      </td>
      <td className={`${TD} align-top`}>
        {setting.valueType === "boolean" ? (
          <Toggle
            checked={setting.value === true}
            disabled={!canConfigure || save.isPending}
            label={`${setting.key}: ${setting.value === true ? "on" : "off"}`}
            onChange={(next) => save.mutate(next)}
          />
        ) : canConfigure ? (
          <form onSubmit={submit} className="flex gap-2">
            <input
              className={`${INPUT} font-mono`}
              aria-label={setting.key}
              inputMode={setting.valueType === "number" ? "decimal" : undefined}
              value={text}
              onChange={(e) => setText(e.target.value)}
            />
            <button type="submit" className={SECONDARY} disabled={save.isPending || text === displayValue(setting)}>
              Save
            </button>
          </form>
        ) : (
          <span className="font-mono text-xs">{displayValue(setting)}</span>
        )}
        {(parseError || save.error) && <p className="mt-1 text-xs text-red-700 dark:text-red-400">{parseError ?? save.error?.message}</p>}
      </td>
      <td className={`${TD} align-top whitespace-nowrap text-xs text-zinc-500 dark:text-zinc-400`}>{formatDateTime(setting.updatedAt)}</td>
    </tr>
  );
}

function SettingsTable() {
  const me = useMe();
  const canConfigure = can(me.data?.data, "system.configure");
  const settings = useSettings();
  if (settings.isPending) return <Loading label="Loading settings…" />;
  if (settings.isError) return <ErrorState error={settings.error} onRetry={() => void settings.refetch()} />;
  if (settings.data.data.length === 0) return <p className="text-sm text-zinc-500 dark:text-zinc-400">No settings stored.</p>;
  return (
    <DataTable columns={["Setting", "Value", "Changed"]}>
      {settings.data.data.map((setting) => (
        <SettingRow key={`${setting.key}:${setting.updatedAt}`} setting={setting} canConfigure={canConfigure} />
      ))}
    </DataTable>
  );
}

const TASKS: { task: MaintenanceTask; label: string; hint: string; confirm?: string }[] = [
  {
    task: "cleanup",
    label: "Apply retention now",
    hint: "Runs every schedule's retention policy and deletes the backups it does not keep.",
    confirm: "Apply the retention policies now? Backups they do not keep are deleted.",
  },
  { task: "verify", label: "Verify local backups", hint: "Re-hashes every local backup file against its recorded checksum." },
  { task: "vacuum", label: "Compact the database", hint: "VACUUM of Lifeboat's SQLite database." },
];

function Maintenance() {
  const queryClient = useQueryClient();
  const run = useMutation({
    mutationFn: (task: MaintenanceTask) => api.maintenance(task),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.backups() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.stats() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.systemStatus() });
    },
  });
  const result = run.data?.data;
  return (
    <div className="space-y-3">
      <ul className="grid gap-3 md:grid-cols-3">
        {TASKS.map((item) => (
          <li key={item.task} className="flex flex-col items-start gap-2 rounded-lg border border-zinc-200 p-3 text-sm dark:border-zinc-800">
            <span className="text-zinc-600 dark:text-zinc-400">{item.hint}</span>
            <button
              type="button"
              className={item.task === "cleanup" ? DANGER : SECONDARY}
              disabled={run.isPending}
              onClick={() => {
                if (!item.confirm || window.confirm(item.confirm)) run.mutate(item.task);
              }}
            >
              {run.isPending && run.variables === item.task ? "Running…" : item.label}
            </button>
          </li>
        ))}
      </ul>
      <div aria-live="polite">
        {run.isError && <FormStatus error={run.error} />}
        {result && (
          <div className="rounded-lg border border-zinc-200 p-3 text-sm dark:border-zinc-800" data-testid="maintenance-result">
            <p>
              <span className="font-medium">{result.message}</span>{" "}
              <span className="text-zinc-500 dark:text-zinc-400">({result.durationMs} ms)</span>
            </p>
            {result.problems && result.problems.length > 0 && (
              <ul className="mt-2 space-y-1 text-xs text-red-700 dark:text-red-400">
                {result.problems.map((problem) => (
                  <li key={problem.id}>
                    <span className="font-mono">{problem.fileName ?? problem.id}</span>: {problem.problem} — {problem.detail}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
    </div>
  );
}

function ImportLocal() {
  const queryClient = useQueryClient();
  const importing = useMutation({
    mutationFn: api.importLocal,
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.backups() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.databases() });
    },
  });
  return (
    <div className="space-y-3 text-sm">
      <p className="text-zinc-600 dark:text-zinc-400">
        Rebuild backup records from the manifests in the local backup storage, e.g. after moving it to a fresh install. Backups already known are left as
        they are.
      </p>
      <button type="button" className={BUTTON} disabled={importing.isPending} onClick={() => importing.mutate()}>
        {importing.isPending ? "Importing…" : "Import local backups"}
      </button>
      <div aria-live="polite">
        {importing.isError && <FormStatus error={importing.error} />}
        {importing.data && <ImportSummary result={importing.data.data} />}
      </div>
    </div>
  );
}

export function Settings() {
  const me = useMe();
  const canConfigure = can(me.data?.data, "system.configure");
  const canImport = can(me.data?.data, "s3.manage");
  return (
    <>
      <PageHeader title="Settings" />
      {me.data && !canConfigure && <ReadOnlyNote>Only admins can change settings or run maintenance.</ReadOnlyNote>}
      <div className="space-y-6">
        <Panel title="System">
          <Status />
        </Panel>
        <Panel title="Settings">
          <SettingsTable />
        </Panel>
        {canConfigure && (
          <Panel title="Maintenance">
            <Maintenance />
          </Panel>
        )}
        {canConfigure && (
          <Panel title="Configuration">
            <ConfigTransfer />
          </Panel>
        )}
        {canImport && (
          <Panel title="Import">
            <ImportLocal />
          </Panel>
        )}
      </div>
    </>
  );
}
