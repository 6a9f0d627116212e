import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { BUTTON, CHECKBOX, DANGER, Field, FormStatus, INPUT, ReadOnlyNote, SECONDARY, fieldErrors } from "../components/Form.tsx";
import { PageHeader, Panel } from "../components/States.tsx";
import { can, useMe } from "../lib/auth.ts";
import { api, type DatabaseDetail, type DatabaseInput } from "../lib/api.ts";
import { Link, navigate } from "../lib/router.tsx";
import { EditLoader } from "../components/EditLoader.tsx";
import { queryKeys } from "../lib/queryKeys.ts";
import { toast } from "../lib/toast.ts";

type Engine = "postgresql" | "mysql";
const DEFAULT_PORT: Record<Engine, string> = { postgresql: "5432", mysql: "3306" };

interface FormValues {
  name: string;
  type: Engine;
  host: string;
  port: string;
  databaseName: string;
  username: string;
  password: string;
  dockerContainerName: string;
  queue: string;
  maxBackupAgeHours: string;
  enabled: boolean;
  skipConnectionTest: boolean;
}

function initialValues(db?: DatabaseDetail): FormValues {
  const type: Engine = db?.type === "mysql" ? "mysql" : "postgresql";
  return {
    name: db?.name ?? "",
    type,
    host: db?.host ?? "",
    port: db ? String(db.port) : DEFAULT_PORT.postgresql,
    databaseName: db?.databaseName ?? "",
    username: db?.username ?? "",
    password: "",
    dockerContainerName: db?.dockerContainerName ?? "",
    queue: db?.queue ?? "default",
    maxBackupAgeHours: db?.maxBackupAgeHours ? String(db.maxBackupAgeHours) : "",
    enabled: db?.enabled ?? true,
    skipConnectionTest: false,
  };
}

function toInput(values: FormValues, editing: boolean): DatabaseInput {
  const input: DatabaseInput = {
    name: values.name.trim(),
    type: values.type,
    host: values.host.trim(),
    port: Number(values.port),
    databaseName: values.databaseName,
    username: values.username,
    dockerContainerName: values.dockerContainerName.trim() || null,
    queue: values.queue.trim() || "default",
    maxBackupAgeHours: values.maxBackupAgeHours.trim() ? Number(values.maxBackupAgeHours) : null,
    enabled: values.enabled,
    skipConnectionTest: values.skipConnectionTest,
  };
  // Write-only: on edit a blank password keeps the stored one; on create blank means none.
  if (!editing || values.password !== "") input.password = values.password;
  return input;
}

function DatabaseFormBody({ database }: { database?: DatabaseDetail }) {
  const queryClient = useQueryClient();
  const me = useMe();
  const canManage = can(me.data?.data, "database.manage");
  const [values, setValues] = useState<FormValues>(() => initialValues(database));
  const editing = database !== undefined;
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: queryKeys.databases() });
    void queryClient.invalidateQueries({ queryKey: queryKeys.stats() });
  };
  const save = useMutation({
    mutationFn: () =>
      database ? api.updateDatabase(database.id, toInput(values, true)) : api.createDatabase(toInput(values, false)),
    onSuccess: (saved) => {
      refresh();
      toast.success(`${saved.data.name} ${database ? "saved" : "added"}.`);
      navigate("/databases");
    },
  });
  const remove = useMutation({
    mutationFn: () => api.deleteDatabase(database?.id ?? ""),
    onSuccess: () => {
      refresh();
      void queryClient.invalidateQueries({ queryKey: queryKeys.schedules() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.backups() });
      toast.success(`${database?.name ?? "The database"} deleted.`);
      navigate("/databases");
    },
  });
  const errors = fieldErrors(save.error);
  const generalError = save.error && Object.keys(errors).length === 0 ? save.error : null;
  const set = <K extends keyof FormValues>(key: K, value: FormValues[K]) => {
    if (save.isError) save.reset();
    setValues((v) => ({ ...v, [key]: value }));
  };
  const setType = (type: Engine) => {
    if (save.isError) save.reset();
    // Follow the engine's default port unless a custom one was typed.
    setValues((v) => ({ ...v, type, port: v.port === DEFAULT_PORT[v.type] || v.port === "" ? DEFAULT_PORT[type] : v.port }));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };

  return (
    <>
      <PageHeader title={editing ? "Edit database" : "Add database"} />
      {me.data && !canManage && <ReadOnlyNote>Your role cannot add or change databases.</ReadOnlyNote>}
      <Panel>
        <form onSubmit={submit} className="space-y-6" noValidate autoComplete="off">
          <fieldset disabled={!canManage} className="space-y-6">
            <div className="grid gap-4 sm:grid-cols-2">
              <Field id="db-name" label="Name" error={errors.name} hint="How Lifeboat shows it; also names its backup files.">
                <input id="db-name" className={INPUT} required maxLength={100} value={values.name} onChange={(e) => set("name", e.target.value)} />
              </Field>
              <Field id="db-type" label="Engine" error={errors.type}>
                <select id="db-type" className={INPUT} value={values.type} onChange={(e) => setType(e.target.value as Engine)}>
                  <option value="postgresql">PostgreSQL</option>
                  <option value="mysql">MySQL / MariaDB</option>
                </select>
              </Field>
              <Field id="db-host" label="Host" error={errors.host} hint="Host name or IP the executors can reach (e.g. the Compose service name).">
                <input id="db-host" className={INPUT} required maxLength={255} spellCheck={false} value={values.host} onChange={(e) => set("host", e.target.value)} />
              </Field>
              <Field id="db-port" label="Port" error={errors.port}>
                <input id="db-port" className={INPUT} type="number" min={1} max={65535} inputMode="numeric" value={values.port} onChange={(e) => set("port", e.target.value)} />
              </Field>
              <Field id="db-database" label="Database name" error={errors.databaseName}>
                <input id="db-database" className={INPUT} required maxLength={255} spellCheck={false} value={values.databaseName} onChange={(e) => set("databaseName", e.target.value)} />
              </Field>
              <Field id="db-username" label="User" error={errors.username}>
                <input id="db-username" className={INPUT} required maxLength={255} spellCheck={false} autoComplete="off" value={values.username} onChange={(e) => set("username", e.target.value)} />
              </Field>
              <Field
                id="db-password"
                label="Password"
                error={errors.password}
                hint={editing ? "Stored encrypted and never shown. Leave blank to keep it." : "Leave blank if the server needs none."}
              >
                <input
                  id="db-password"
                  className={INPUT}
                  type="password"
                  autoComplete="new-password"
                  maxLength={1024}
                  placeholder={editing && database?.hasPassword ? "•••••••• (unchanged)" : ""}
                  value={values.password}
                  onChange={(e) => set("password", e.target.value)}
                />
              </Field>
              <Field id="db-container" label="Docker container (optional)" error={errors.dockerContainerName}>
                <input id="db-container" className={INPUT} maxLength={255} spellCheck={false} value={values.dockerContainerName} onChange={(e) => set("dockerContainerName", e.target.value)} />
              </Field>
              <Field id="db-queue" label="Executor queue" error={errors.queue} hint="Executors serving this queue run its jobs (one queue per network).">
                <input id="db-queue" className={INPUT} maxLength={32} spellCheck={false} value={values.queue} onChange={(e) => set("queue", e.target.value)} />
              </Field>
              <Field
                id="db-max-age"
                label="Alert when the last good backup is older than (hours, optional)"
                error={errors.maxBackupAgeHours}
                hint="Empty: 1.5 times the interval of its most frequent schedule. Past it the database is overdue (see Notifications)."
              >
                <input id="db-max-age" type="number" min={1} max={8784} className={INPUT} value={values.maxBackupAgeHours} onChange={(e) => set("maxBackupAgeHours", e.target.value)} />
              </Field>
            </div>
            <div className="space-y-2">
              <label className="flex items-center gap-2 text-sm">
                <input type="checkbox" className={CHECKBOX} checked={values.enabled} onChange={(e) => set("enabled", e.target.checked)} />
                Enabled
              </label>
              <label className="flex items-center gap-2 text-sm">
                <input type="checkbox" className={CHECKBOX} checked={values.skipConnectionTest} onChange={(e) => set("skipConnectionTest", e.target.checked)} />
                Save without testing the connection
              </label>
            </div>
          </fieldset>
          {generalError && <FormStatus error={generalError} />}
          <div className="flex flex-wrap items-center gap-2">
            <Link to="/databases" className={SECONDARY}>
              Cancel
            </Link>
            {canManage && (
              <button type="submit" className={BUTTON} disabled={save.isPending}>
                {save.isPending ? (values.skipConnectionTest ? "Saving…" : "Testing and saving…") : "Save database"}
              </button>
            )}
            {canManage && database && (
              <button
                type="button"
                className={`${DANGER} ml-auto`}
                disabled={remove.isPending}
                onClick={() => {
                  if (window.confirm(`Delete "${database.name}" with its schedules and backup records? Backup files stay on disk.`)) remove.mutate();
                }}
              >
                Delete database
              </button>
            )}
          </div>
          <FormStatus error={remove.error} />
        </form>
      </Panel>
    </>
  );
}

export function DatabaseForm({ databaseId }: { databaseId?: string }) {
  return (
    <EditLoader
      id={databaseId}
      queryKey="database"
      load={api.database}
      what="database"
      render={(item) => <DatabaseFormBody database={item} />}
    />
  );
}
