import { useState, type FormEvent } from "react";

import { BUTTON, CHECKBOX, DANGER, Field, FormStatus, INPUT, ReadOnlyNote, SECONDARY, TD, TH, Toggle, fieldErrors } from "../components/Form.tsx";
import { Empty, ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import { can, useMe } from "../lib/auth.ts";
import { formatDateTime, formatRelative } from "../lib/format.ts";
import {
  DEFAULT_EVENTS,
  EVENT_GROUPS,
  useChannels,
  useCreateChannel,
  useDatabaseNames,
  useDeleteChannel,
  useDeliveries,
  useTestChannel,
  useUpdateChannel,
  type Channel,
  type ChannelInput,
  type ChannelPatch,
  type Delivery,
} from "../lib/hooks/notifications.ts";

type Tone = "zinc" | "emerald" | "red" | "amber";
const TONES: Record<Tone, string> = {
  zinc: "bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300",
  emerald: "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-300",
  red: "bg-red-100 text-red-800 dark:bg-red-900/40 dark:text-red-300",
  amber: "bg-amber-100 text-amber-800 dark:bg-amber-900/40 dark:text-amber-300",
};
const STATUS_TONE: Record<string, Tone> = { delivered: "emerald", failed: "red", pending: "amber" };

function Badge({ children, tone = "zinc" }: { children: string; tone?: Tone }) {
  return <span className={`whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ${TONES[tone]}`}>{children}</span>;
}

function Deliveries({ channelId }: { channelId: string }) {
  const deliveries = useDeliveries(channelId, true);
  if (deliveries.isPending) return <Loading label="Loading deliveries…" />;
  if (deliveries.isError) return <ErrorState error={deliveries.error} onRetry={() => void deliveries.refetch()} />;
  const rows: Delivery[] = deliveries.data.data;
  if (rows.length === 0) return <p className="text-sm text-zinc-500 dark:text-zinc-400">Nothing sent yet.</p>;
  return (
    <div data-testid="deliveries">
      <ul className="space-y-2 sm:hidden">
        {rows.map((row) => (
          <li key={row.id} className="rounded-md border border-zinc-100 p-2 text-sm dark:border-zinc-800">
            <div className="flex flex-wrap items-center justify-between gap-2">
              <span className="font-mono text-xs">{row.event}</span>
              <Badge tone={STATUS_TONE[row.status] ?? "zinc"}>{row.status}</Badge>
            </div>
            <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
              {formatRelative(row.createdAt)} · {row.attempts} {row.attempts === 1 ? "try" : "tries"}
            </p>
            {row.lastError && <p className="mt-1 break-words text-xs text-red-700 dark:text-red-400">{row.lastError}</p>}
          </li>
        ))}
      </ul>
      <table className="hidden w-full sm:table">
        <thead>
          <tr className="border-b border-zinc-200 dark:border-zinc-800">
            <th className={TH}>When</th>
            <th className={TH}>Event</th>
            <th className={TH}>Status</th>
            <th className={TH}>Tries</th>
            <th className={TH}>Last error</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
          {rows.map((row) => (
            <tr key={row.id}>
              <td className={`${TD} whitespace-nowrap`} title={formatDateTime(row.createdAt)}>{formatRelative(row.createdAt)}</td>
              <td className={`${TD} font-mono text-xs`} title={row.title}>{row.event}</td>
              <td className={TD}><Badge tone={STATUS_TONE[row.status] ?? "zinc"}>{row.status}</Badge></td>
              <td className={TD}>{row.attempts}</td>
              <td className={`${TD} max-w-[28rem] break-words text-xs text-red-700 dark:text-red-400`}>{row.lastError ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ChannelCard({ channel, canManage, names, onEdit }: { channel: Channel; canManage: boolean; names: Map<string, string>; onEdit: () => void }) {
  const [showDeliveries, setShowDeliveries] = useState(false);
  const test = useTestChannel(channel.id);
  const remove = useDeleteChannel(channel.id);
  const databases = channel.databaseIds === null ? "All databases" : channel.databaseIds.map((id) => names.get(id) ?? id).join(", ") || "No database";
  return (
    <li className="rounded-xl border border-zinc-200 bg-white p-4 shadow-sm dark:border-zinc-800 dark:bg-zinc-900" data-testid="channel-card">
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <h2 className="flex flex-wrap items-center gap-2 font-semibold">
            <span aria-hidden="true" className={`inline-block size-2 rounded-full ${channel.enabled ? "bg-emerald-500" : "bg-zinc-400"}`} />
            <span className="break-all">{channel.name}</span>
            <Badge>{channel.kind === "webhook" ? "Signed webhook" : "Apprise"}</Badge>
            {!channel.enabled && <Badge>Disabled</Badge>}
          </h2>
          <p className="mt-1 break-all font-mono text-xs text-zinc-500 dark:text-zinc-400">{channel.urlMasked}</p>
        </div>
        {channel.lastDeliveryStatus && (
          <span className="flex items-center gap-2 text-xs text-zinc-500 dark:text-zinc-400">
            Last: <Badge tone={STATUS_TONE[channel.lastDeliveryStatus] ?? "zinc"}>{channel.lastDeliveryStatus}</Badge>
            {formatRelative(channel.lastDeliveryAt)}
          </span>
        )}
      </div>
      <p className="mt-3 text-sm text-zinc-600 dark:text-zinc-300">
        <span className="font-medium">{channel.events.length} events</span> · {databases}
      </p>
      <ul className="mt-2 flex flex-wrap gap-1" aria-label="Events">
        {channel.events.map((event) => (
          <li key={event} className="rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-[11px] text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300">
            {event}
          </li>
        ))}
      </ul>
      <div className="mt-4 flex flex-wrap items-center gap-2">
        {canManage && (
          <button type="button" className={BUTTON} disabled={test.isPending} onClick={() => test.mutate()}>
            {test.isPending ? "Sending…" : "Send test"}
          </button>
        )}
        <button type="button" className={SECONDARY} aria-expanded={showDeliveries} onClick={() => setShowDeliveries((v) => !v)}>
          {showDeliveries ? "Hide deliveries" : "Deliveries"}
        </button>
        {canManage && (
          <>
            <button type="button" className={SECONDARY} onClick={onEdit}>Edit</button>
            <button
              type="button"
              className={DANGER}
              disabled={remove.isPending}
              onClick={() => {
                if (window.confirm(`Delete the channel “${channel.name}” and its delivery history?`)) remove.mutate();
              }}
            >
              Delete
            </button>
          </>
        )}
      </div>
      {test.data && (
        <p role="status" className={`mt-3 text-sm ${test.data.data.ok ? "text-emerald-700 dark:text-emerald-400" : "text-red-700 dark:text-red-400"}`}>
          {test.data.data.ok ? `Test sent (${test.data.data.durationMs} ms).` : `Test failed: ${test.data.data.error ?? "unknown error"}`}
        </p>
      )}
      <FormStatus error={test.error ?? remove.error} />
      {showDeliveries && (
        <div className="mt-4 border-t border-zinc-100 pt-3 dark:border-zinc-800">
          <Deliveries channelId={channel.id} />
        </div>
      )}
    </li>
  );
}

interface Draft {
  name: string;
  kind: "apprise" | "webhook";
  url: string;
  secret: string;
  events: string[];
  allDatabases: boolean;
  databaseIds: string[];
  enabled: boolean;
}

function draftOf(channel?: Channel): Draft {
  return {
    name: channel?.name ?? "",
    kind: channel?.kind ?? "apprise",
    url: "",
    secret: "",
    events: channel?.events ?? DEFAULT_EVENTS,
    allDatabases: channel ? channel.databaseIds === null : true,
    databaseIds: channel?.databaseIds ?? [],
    enabled: channel?.enabled ?? true,
  };
}

function toggle(list: string[], value: string): string[] {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

function ChannelForm({ channel, onDone }: { channel?: Channel; onDone: (secret?: string | null) => void }) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(channel));
  const databases = useDatabaseNames();
  const create = useCreateChannel();
  const update = useUpdateChannel(channel?.id ?? "");
  const mutation = channel ? update : create;
  const errors = fieldErrors(mutation.error);
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const databaseIds = draft.allDatabases ? null : draft.databaseIds;
    if (channel) {
      const body: ChannelPatch = { name: draft.name, kind: draft.kind, events: draft.events, databaseIds, enabled: draft.enabled };
      if (draft.url) body.url = draft.url;
      if (draft.secret) body.secret = draft.secret;
      update.mutate(body, { onSuccess: () => onDone() });
    } else {
      const body: ChannelInput = { name: draft.name, kind: draft.kind, url: draft.url, events: draft.events, databaseIds, enabled: draft.enabled };
      if (draft.secret) body.secret = draft.secret;
      create.mutate(body, { onSuccess: (page) => onDone(page.data.generatedSecret) });
    }
  };

  return (
    <form onSubmit={submit} className="space-y-4" aria-label={channel ? "Edit channel" : "Add channel"}>
      <div className="grid gap-4 md:grid-cols-2">
        <Field id="ch-name" label="Name" error={errors.name}>
          <input id="ch-name" className={INPUT} required maxLength={100} value={draft.name} onChange={(e) => set({ name: e.target.value })} />
        </Field>
        <Field id="ch-kind" label="Type">
          <select id="ch-kind" className={INPUT} value={draft.kind} onChange={(e) => set({ kind: e.target.value as Draft["kind"] })}>
            <option value="apprise">Apprise URL (Slack, Discord, ntfy, email…)</option>
            <option value="webhook">Signed webhook (JSON, HMAC)</option>
          </select>
        </Field>
      </div>
      <Field
        id="ch-url"
        label="URL"
        error={errors.url}
        hint={
          <>
            {channel ? `Stored as ${channel.urlMasked}; leave empty to keep it. ` : ""}
            {draft.kind === "apprise" ? (
              <>Any Apprise URL, e.g. <code>slack://…</code>, <code>ntfys://ntfy.sh/topic</code>, <code>mailto://user:pass@smtp.example.com</code>. It is encrypted and never shown again.</>
            ) : (
              <>An http(s) endpoint receiving POSTed JSON with <code>X-Lifeboat-Signature</code> (see the README).</>
            )}
          </>
        }
      >
        <input
          id="ch-url"
          className={`${INPUT} font-mono`}
          required={!channel}
          autoComplete="off"
          spellCheck={false}
          placeholder={channel ? "Leave empty to keep the stored URL" : draft.kind === "apprise" ? "discord://webhook_id/webhook_token" : "https://hooks.example.com/lifeboat"}
          value={draft.url}
          onChange={(e) => set({ url: e.target.value })}
        />
      </Field>
      {draft.kind === "webhook" && (
        <Field
          id="ch-secret"
          label="Signing secret"
          error={errors.secret}
          hint={channel?.hasSecret ? "Set; leave empty to keep it." : "At least 16 characters; leave empty to have one generated (shown once)."}
        >
          <input id="ch-secret" type="password" autoComplete="new-password" className={`${INPUT} font-mono`} minLength={16} value={draft.secret} onChange={(e) => set({ secret: e.target.value })} />
        </Field>
      )}
      <fieldset>
        <legend className="mb-2 text-sm font-medium text-zinc-700 dark:text-zinc-300">Events</legend>
        {errors.events && <p role="alert" className="mb-2 text-sm text-red-700 dark:text-red-400">{errors.events}</p>}
        <div className="grid gap-4 md:grid-cols-3">
          {EVENT_GROUPS.map((group) => (
            <div key={group.label}>
              <p className="mb-1 text-xs font-semibold uppercase tracking-wide text-zinc-500 dark:text-zinc-400">{group.label}</p>
              <ul className="space-y-1">
                {group.events.map((event) => (
                  <li key={event.name}>
                    <label className="flex items-start gap-2 text-sm">
                      <input type="checkbox" className={`${CHECKBOX} mt-0.5`} checked={draft.events.includes(event.name)} onChange={() => set({ events: toggle(draft.events, event.name) })} />
                      <span>{event.label}</span>
                    </label>
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend className="mb-2 text-sm font-medium text-zinc-700 dark:text-zinc-300">Databases</legend>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" className={CHECKBOX} checked={draft.allDatabases} onChange={(e) => set({ allDatabases: e.target.checked })} />
          All databases
        </label>
        <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">Events of no particular database (disk space, executors) go to every channel subscribed to them.</p>
        {!draft.allDatabases && (
          <ul className="mt-2 grid gap-1 sm:grid-cols-2 md:grid-cols-3">
            {(databases.data?.data ?? []).map((db) => (
              <li key={db.id}>
                <label className="flex items-center gap-2 text-sm">
                  <input type="checkbox" className={CHECKBOX} checked={draft.databaseIds.includes(db.id)} onChange={() => set({ databaseIds: toggle(draft.databaseIds, db.id) })} />
                  <span className="truncate">{db.name}</span>
                </label>
              </li>
            ))}
          </ul>
        )}
        {errors.databaseIds && <p role="alert" className="mt-1 text-sm text-red-700 dark:text-red-400">{errors.databaseIds}</p>}
      </fieldset>
      <div className="flex items-center gap-2 text-sm">
        <Toggle checked={draft.enabled} onChange={(enabled) => set({ enabled })} label="Enabled" />
        <span>Enabled</span>
      </div>
      <div className="flex flex-wrap items-center gap-2">
        <button type="submit" className={BUTTON} disabled={mutation.isPending || draft.events.length === 0}>
          {channel ? "Save" : "Add channel"}
        </button>
        <button type="button" className={SECONDARY} onClick={() => onDone()}>Cancel</button>
        <FormStatus error={mutation.error} />
      </div>
    </form>
  );
}

export function Notifications() {
  const me = useMe();
  const canManage = can(me.data?.data, "system.configure");
  const channels = useChannels();
  const databases = useDatabaseNames();
  const [editing, setEditing] = useState<Channel | "new" | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const names = new Map((databases.data?.data ?? []).map((db) => [db.id, db.name]));

  return (
    <div>
      <PageHeader
        title="Notifications"
        actions={canManage && editing === null ? <button type="button" className={BUTTON} onClick={() => { setSecret(null); setEditing("new"); }}>Add channel</button> : undefined}
      />
      {!canManage && <ReadOnlyNote>Only admins can add, change or test notification channels.</ReadOnlyNote>}
      {secret && (
        <div role="status" className="mb-4 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950/30">
          <p className="font-medium text-amber-900 dark:text-amber-200">Webhook signing secret — copy it now, it is not shown again:</p>
          <code className="mt-1 block break-all font-mono text-xs" data-testid="generated-secret">{secret}</code>
          <button type="button" className={`${SECONDARY} mt-2`} onClick={() => setSecret(null)}>Done</button>
        </div>
      )}
      {editing !== null && (
        <div className="mb-6">
          <Panel title={editing === "new" ? "New channel" : `Edit ${editing.name}`}>
            <ChannelForm
              key={editing === "new" ? "new" : editing.id}
              channel={editing === "new" ? undefined : editing}
              onDone={(generated) => { setEditing(null); if (generated) setSecret(generated); }}
            />
          </Panel>
        </div>
      )}
      {channels.isPending && <Loading />}
      {channels.isError && <ErrorState error={channels.error} onRetry={() => void channels.refetch()} />}
      {channels.data && channels.data.data.length === 0 && (
        <Empty>No channels yet. Add one to hear about failed or overdue backups through Slack, Discord, ntfy, email or a signed webhook.</Empty>
      )}
      {channels.data && channels.data.data.length > 0 && (
        <ul className="space-y-4">
          {channels.data.data.map((channel) => (
            <ChannelCard key={channel.id} channel={channel} canManage={canManage} names={names} onEdit={() => { setSecret(null); setEditing(channel); }} />
          ))}
        </ul>
      )}
    </div>
  );
}
