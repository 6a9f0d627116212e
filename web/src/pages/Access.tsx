import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { Empty, ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import { formatDateTime } from "../lib/format.ts";
import { auth, ROLES, useMe, type AuditFilters, type Role } from "../lib/auth.ts";
import { navigate, useSearch } from "../lib/router.tsx";
import { BUTTON, INPUT, SECONDARY } from "../components/styles.ts";
import { DataTable } from "../components/DataTable.tsx";
import { queryKeys } from "../lib/queryKeys.ts";

const TD = "px-3 py-2 text-sm";

function Status({ error, success }: { error: Error | null; success?: string | null }) {
  return (
    <div aria-live="polite" className="mt-2 text-sm">
      {error && <span className="text-red-700 dark:text-red-400">{error.message}</span>}
      {!error && success && <span className="text-emerald-700 dark:text-emerald-400">{success}</span>}
    </div>
  );
}

export function Users() {
  const queryClient = useQueryClient();
  const me = useMe();
  const users = useQuery({ queryKey: queryKeys.users(), queryFn: auth.users });
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const refresh = () => void queryClient.invalidateQueries({ queryKey: queryKeys.users() });
  const create = useMutation({
    mutationFn: () => auth.createUser(email, password, role),
    onSuccess: () => {
      setEmail("");
      setPassword("");
      refresh();
    },
  });
  const update = useMutation({
    mutationFn: ({ id, change }: { id: string; change: { role?: Role; disabled?: boolean } }) =>
      auth.updateUser(id, change),
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: (id: string) => auth.deleteUser(id), onSuccess: refresh });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <>
      <PageHeader title="Users" />
      <div className="space-y-6">
        <Panel title="Add a user">
          <form onSubmit={submit} className="grid gap-3 sm:grid-cols-4">
            <input className={INPUT} type="email" placeholder="E-mail" aria-label="E-mail" required value={email} onChange={(e) => setEmail(e.target.value)} />
            <input className={INPUT} type="password" placeholder="Initial password (10+ characters)" aria-label="Initial password" autoComplete="new-password" required minLength={10} value={password} onChange={(e) => setPassword(e.target.value)} />
            <select className={INPUT} aria-label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>{r}</option>
              ))}
            </select>
            <button type="submit" className={BUTTON} disabled={create.isPending}>Add user</button>
          </form>
          <Status error={create.error} />
        </Panel>
        <Panel>
          {users.isPending ? (
            <Loading label="Loading users…" />
          ) : users.isError ? (
            <ErrorState error={users.error} onRetry={() => void users.refetch()} />
          ) : (
            <div className="overflow-x-auto">
              <DataTable columns={["E-mail", "Role", "Last sign-in", { label: "Actions", srOnly: true }]}>
                {users.data.data.map((user) => (
                  <tr key={user.id} data-testid="user-row">
                    <td className={`${TD} font-medium`}>
                      {user.email} {user.disabled && <span className="text-xs text-zinc-500">(disabled)</span>}
                    </td>
                    <td className={TD}>
                      <select
                        className="rounded-md border border-zinc-300 bg-white px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900"
                        aria-label={`Role of ${user.email}`}
                        value={user.role}
                        onChange={(e) => update.mutate({ id: user.id, change: { role: e.target.value as Role } })}
                      >
                        {ROLES.map((r) => (
                          <option key={r} value={r}>{r}</option>
                        ))}
                      </select>
                    </td>
                    <td className={TD}>{formatDateTime(user.lastLoginAt)}</td>
                    <td className={`${TD} space-x-2 text-right whitespace-nowrap`}>
                      {user.id !== me.data?.data.id && (
                        <>
                          <button type="button" className={SECONDARY} onClick={() => update.mutate({ id: user.id, change: { disabled: !user.disabled } })}>
                            {user.disabled ? "Enable" : "Disable"}
                          </button>
                          <button
                            type="button"
                            className={SECONDARY}
                            onClick={() => {
                              if (window.confirm(`Delete ${user.email}?`)) remove.mutate(user.id);
                            }}
                          >
                            Delete
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </DataTable>
              <Status error={update.error ?? remove.error} />
            </div>
          )}
        </Panel>
      </div>
    </>
  );
}

export function Tokens() {
  const queryClient = useQueryClient();
  const me = useMe();
  const tokens = useQuery({ queryKey: queryKeys.tokens(), queryFn: auth.tokens });
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [days, setDays] = useState("90");
  const [shown, setShown] = useState<string | null>(null);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: queryKeys.tokens() });
  const create = useMutation({
    mutationFn: () => auth.createToken(name, role, days ? Number(days) : undefined),
    onSuccess: (created) => {
      setShown(created.data.token);
      setName("");
      refresh();
    },
  });
  const revoke = useMutation({ mutationFn: (id: string) => auth.revokeToken(id), onSuccess: refresh });
  const myRank = ROLES.indexOf(me.data?.data.role ?? "viewer");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <>
      <PageHeader title="API tokens" />
      <div className="space-y-6">
        <Panel title="Create a token">
          <form onSubmit={submit} className="grid gap-3 sm:grid-cols-4">
            <input className={INPUT} placeholder="Name (e.g. CI)" aria-label="Token name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
            <select className={INPUT} aria-label="Token role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.filter((_, i) => i <= myRank).map((r) => (
                <option key={r} value={r}>{r}</option>
              ))}
            </select>
            <select className={INPUT} aria-label="Expires" value={days} onChange={(e) => setDays(e.target.value)}>
              <option value="30">expires in 30 days</option>
              <option value="90">expires in 90 days</option>
              <option value="365">expires in a year</option>
              <option value="">never expires</option>
            </select>
            <button type="submit" className={BUTTON} disabled={create.isPending}>Create token</button>
          </form>
          <Status error={create.error} />
          {shown && (
            <div role="status" className="mt-3 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950/40">
              <p className="font-medium">Copy this token now: it will not be shown again.</p>
              <code data-testid="new-token" className="mt-2 block break-all rounded bg-white p-2 font-mono text-xs dark:bg-zinc-900">{shown}</code>
              <button type="button" className={`${SECONDARY} mt-2`} onClick={() => setShown(null)}>Done</button>
            </div>
          )}
        </Panel>
        <Panel>
          {tokens.isPending ? (
            <Loading label="Loading tokens…" />
          ) : tokens.isError ? (
            <ErrorState error={tokens.error} onRetry={() => void tokens.refetch()} />
          ) : tokens.data.data.length === 0 ? (
            <Empty>No API tokens.</Empty>
          ) : (
            <DataTable
              columns={[
                "Name",
                "Role",
                "Owner",
                "Expires",
                "Last used",
                { label: "Actions", srOnly: true },
              ]}
            >
              {tokens.data.data.map((token) => (
                <tr key={token.id} data-testid="token-row">
                  <td className={`${TD} font-medium`}>
                    {token.name} <span className="font-mono text-xs text-zinc-500">{token.prefix}…</span>
                  </td>
                  <td className={TD}>{token.role}</td>
                  <td className={TD}>{token.owner}</td>
                  <td className={TD}>{token.expiresAt ? formatDateTime(token.expiresAt) : "never"}</td>
                  <td className={TD}>{formatDateTime(token.lastUsedAt)}</td>
                  <td className={`${TD} text-right`}>
                    <button type="button" className={SECONDARY} onClick={() => revoke.mutate(token.id)}>Revoke</button>
                  </td>
                </tr>
              ))}
            </DataTable>
          )}
        </Panel>
      </div>
    </>
  );
}

const AUDIT_LIMIT = 50;

export function Audit() {
  const params = new URLSearchParams(useSearch());
  const filters: AuditFilters = {
    action: params.get("action") ?? undefined,
    actor: params.get("actor") ?? undefined,
    since: params.get("since") ?? undefined,
    until: params.get("until") ?? undefined,
    page: Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1),
    limit: AUDIT_LIMIT,
  };
  const events = useQuery({ queryKey: queryKeys.audit(filters), queryFn: () => auth.audit(filters) });
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    if (key !== "page") next.delete("page");
    const text = next.toString();
    navigate(`/audit${text ? `?${text}` : ""}`, { replace: true });
  };
  const total = events.data?.meta.total;
  const pages = total == null ? 1 : Math.max(1, Math.ceil(total / AUDIT_LIMIT));
  const page = filters.page ?? 1;
  return (
    <>
      <PageHeader title="Audit log" />
      <Panel>
        <div className="mb-4 grid gap-3 sm:grid-cols-4">
          <input className={INPUT} aria-label="Action" placeholder="Action (e.g. backup, auth.login)" defaultValue={filters.action} onBlur={(e) => set("action", e.target.value.trim())} />
          <input className={INPUT} aria-label="Actor" placeholder="Actor contains…" defaultValue={filters.actor} onBlur={(e) => set("actor", e.target.value.trim())} />
          <input className={INPUT} aria-label="Since" type="date" defaultValue={filters.since?.slice(0, 10)} onChange={(e) => set("since", e.target.value ? `${e.target.value}T00:00:00Z` : "")} />
          <input className={INPUT} aria-label="Until" type="date" defaultValue={filters.until?.slice(0, 10)} onChange={(e) => set("until", e.target.value ? `${e.target.value}T23:59:59Z` : "")} />
        </div>
        {events.isPending ? (
          <Loading label="Loading audit events…" />
        ) : events.isError ? (
          <ErrorState error={events.error} onRetry={() => void events.refetch()} />
        ) : events.data.data.length === 0 ? (
          <Empty>No audit events match.</Empty>
        ) : (
          <>
            <DataTable columns={["When", "Who", "Action", "Target", "Outcome", "From", "Details"]}>
              {events.data.data.map((event) => (
                <tr key={event.id} data-testid="audit-row">
                  <td className={`${TD} whitespace-nowrap`}>{formatDateTime(event.timestamp)}</td>
                  <td className={TD}>{event.actor}</td>
                  <td className={`${TD} font-mono text-xs`}>{event.action}</td>
                  <td className={TD}>{event.target ?? "—"}</td>
                  <td className={TD}>{event.outcome}</td>
                  <td className={TD}>{event.ip ?? "—"}</td>
                  <td className={`${TD} max-w-xs truncate font-mono text-xs`} title={event.details ? JSON.stringify(event.details) : ""}>
                    {event.details ? JSON.stringify(event.details) : ""}
                  </td>
                </tr>
              ))}
            </DataTable>
            <nav aria-label="Pagination" className="mt-4 flex items-center justify-between text-sm">
              <span className="text-zinc-500 dark:text-zinc-400">
                Page {page} of {pages}
              </span>
              <div className="flex gap-2">
                <button type="button" className={SECONDARY} disabled={page <= 1} onClick={() => set("page", String(page - 1))}>Previous</button>
                <button type="button" className={SECONDARY} disabled={page >= pages} onClick={() => set("page", String(page + 1))}>Next</button>
              </div>
            </nav>
          </>
        )}
      </Panel>
    </>
  );
}

export function Account() {
  const queryClient = useQueryClient();
  const me = useMe();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const change = useMutation({
    mutationFn: () => auth.changePassword(current, next),
    onSuccess: () => {
      setCurrent("");
      setNext("");
    },
  });
  const signOutEverywhere = useMutation({
    mutationFn: auth.logoutAll,
    onSuccess: () => {
      queryClient.clear();
      navigate("/login", { replace: true });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    change.mutate();
  };
  return (
    <>
      <PageHeader title="Your account" />
      <div className="space-y-6">
        <Panel title="Signed in as">
          <p className="text-sm">
            {me.data?.data.email} · <span className="font-medium">{me.data?.data.role}</span>
          </p>
        </Panel>
        <Panel title="Change password">
          <form onSubmit={submit} className="grid max-w-md gap-3">
            <input className={INPUT} type="password" aria-label="Current password" placeholder="Current password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
            <input className={INPUT} type="password" aria-label="New password" placeholder="New password (10+ characters)" autoComplete="new-password" required minLength={10} value={next} onChange={(e) => setNext(e.target.value)} />
            <button type="submit" className={BUTTON} disabled={change.isPending}>Change password</button>
          </form>
          <Status error={change.error} success={change.isSuccess ? "Password changed; your other sessions were signed out." : null} />
        </Panel>
        <Panel title="Sessions">
          <button type="button" className={SECONDARY} onClick={() => signOutEverywhere.mutate()}>Sign out everywhere</button>
          <Status error={signOutEverywhere.error} />
        </Panel>
      </div>
    </>
  );
}
