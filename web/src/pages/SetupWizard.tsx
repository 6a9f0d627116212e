// First-run setup wizard (SPEC §12.2.1): first database (connection tested) → optional S3 →
// first schedule → a test backup followed until it completes. Skippable at every step and
// resumable: the step reached is stored server-side (lib/setupWizard.ts).

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState, type FormEvent, type ReactNode } from "react";

import { BUTTON, CHECKBOX, Field, FormStatus, INPUT, LINK, SECONDARY } from "../components/Form.tsx";
import { ErrorState, Loading, Panel } from "../components/States.tsx";
import { StatusBadge } from "../components/StatusBadge.tsx";
import type { Schemas } from "../lib/api/client.ts";
import { can, useMe } from "../lib/auth.ts";
import { formatBytes } from "../lib/format.ts";
import { queryKeys } from "../lib/queryKeys.ts";
import { Link, navigate } from "../lib/router.tsx";
import { WIZARD_STEPS, wizardApi, wizardState, useWizardFacts, type WizardStep } from "../lib/setupWizard.ts";

const STEP_LABELS: Record<WizardStep, string> = {
  database: "Database",
  s3: "S3 (optional)",
  schedule: "Schedule",
  backup: "Test backup",
};

function Stepper({ current }: { current: WizardStep }) {
  const index = WIZARD_STEPS.indexOf(current);
  return (
    <ol className="mb-6 grid grid-cols-2 gap-2 sm:grid-cols-4" aria-label="Setup steps">
      {WIZARD_STEPS.map((step, i) => {
        const state = i < index ? "done" : i === index ? "current" : "todo";
        return (
          <li
            key={step}
            aria-current={state === "current" ? "step" : undefined}
            className={`flex items-center gap-2 rounded-lg border px-3 py-2 text-sm ${
              state === "current"
                ? "border-orange-500 bg-orange-50 font-medium text-orange-900 dark:border-orange-500 dark:bg-orange-950/40 dark:text-orange-200"
                : state === "done"
                  ? "border-emerald-300 text-emerald-800 dark:border-emerald-800 dark:text-emerald-300"
                  : "border-zinc-200 text-zinc-500 dark:border-zinc-800 dark:text-zinc-400"
            }`}
          >
            <span
              aria-hidden="true"
              className={`grid size-6 shrink-0 place-items-center rounded-full text-xs ${
                state === "current"
                  ? "bg-orange-600 text-white"
                  : state === "done"
                    ? "bg-emerald-600 text-white"
                    : "bg-zinc-200 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300"
              }`}
            >
              {state === "done" ? "✓" : i + 1}
            </span>
            <span className="truncate">{STEP_LABELS[step]}</span>
          </li>
        );
      })}
    </ol>
  );
}

function StepActions({ children }: { children: ReactNode }) {
  return <div className="mt-4 flex flex-wrap items-center gap-2">{children}</div>;
}

// --- step 1: the first database ---------------------------------------------------------------

const DEFAULT_PORTS = { postgresql: 5432, mysql: 3306 } as const;

function DatabaseStep({ existing, onDone }: { existing: Schemas["DatabaseOut"] | undefined; onDone: (id: string) => void }) {
  const id = useId();
  const queryClient = useQueryClient();
  const [engine, setEngine] = useState<"postgresql" | "mysql">("postgresql");
  const [form, setForm] = useState({ name: "", host: "127.0.0.1", port: "5432", databaseName: "", username: "", password: "" });
  const set = (field: keyof typeof form) => (value: string) => setForm((f) => ({ ...f, [field]: value }));
  const create = useMutation({
    mutationFn: async () => {
      const created = await wizardApi.createDatabase({
        name: form.name.trim(),
        type: engine,
        host: form.host.trim(),
        port: Number(form.port),
        databaseName: form.databaseName.trim(),
        username: form.username.trim(),
        password: form.password,
      });
      return { created: created.data, probe: (await wizardApi.testDatabase(created.data.id)).data };
    },
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: queryKeys.databases() }),
  });
  if (existing && !create.data) {
    return (
      <div className="space-y-3 text-sm">
        <p>
          Lifeboat backs up <span className="font-medium">{existing.name}</span> ({existing.type}, {existing.host}:{existing.port}/{existing.databaseName}).
        </p>
        <StepActions>
          <button type="button" className={BUTTON} onClick={() => onDone(existing.id)}>
            Next: S3
          </button>
        </StepActions>
      </div>
    );
  }
  const saved = create.data;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  const input = (field: keyof typeof form, label: string, props: Record<string, unknown> = {}) => (
    <Field id={`${id}-${field}`} label={label}>
      <input id={`${id}-${field}`} className={INPUT} required value={form[field]} onChange={(e) => set(field)(e.target.value)} {...props} />
    </Field>
  );
  return (
    <form onSubmit={submit} className="space-y-4" data-testid="wizard-database">
      <p className="text-sm text-zinc-600 dark:text-zinc-400">
        Which database should Lifeboat protect first? The connection is tested by an executor before anything is saved.
      </p>
      <div className="grid gap-4 sm:grid-cols-2">
        {input("name", "Name", { placeholder: "orders", autoComplete: "off" })}
        <Field id={`${id}-type`} label="Engine">
          <select
            id={`${id}-type`}
            className={INPUT}
            value={engine}
            onChange={(e) => {
              const next = e.target.value as "postgresql" | "mysql";
              setEngine(next);
              setForm((f) => ({ ...f, port: String(DEFAULT_PORTS[next]) }));
            }}
          >
            <option value="postgresql">PostgreSQL</option>
            <option value="mysql">MySQL / MariaDB</option>
          </select>
        </Field>
        {input("host", "Host", { autoComplete: "off" })}
        {input("port", "Port", { type: "number", min: 1, max: 65535 })}
        {input("databaseName", "Database name", { autoComplete: "off" })}
        {input("username", "User", { autoComplete: "off" })}
        <Field id={`${id}-password`} label="Password" hint="Stored encrypted; leave empty if the server needs none.">
          <input id={`${id}-password`} className={INPUT} type="password" autoComplete="new-password" value={form.password} onChange={(e) => set("password")(e.target.value)} />
        </Field>
      </div>
      <div aria-live="polite">
        {create.isError && <FormStatus error={create.error} />}
        {saved && (
          <p className="text-sm text-emerald-700 dark:text-emerald-400" data-testid="wizard-connected">
            Connected to {saved.created.type === "mysql" ? "MySQL/MariaDB" : "PostgreSQL"}
            {saved.probe.serverVersion ? ` ${saved.probe.serverVersion}` : ""} in {saved.probe.latencyMs} ms
            {saved.probe.databaseSizeBytes != null ? ` (${formatBytes(saved.probe.databaseSizeBytes)})` : ""}. Saved as {saved.created.name}.
          </p>
        )}
      </div>
      <StepActions>
        {saved ? (
          <button type="button" className={BUTTON} onClick={() => onDone(saved.created.id)}>
            Next: S3
          </button>
        ) : (
          <button type="submit" className={BUTTON} disabled={create.isPending}>
            {create.isPending ? "Testing connection…" : "Test connection and save"}
          </button>
        )}
      </StepActions>
    </form>
  );
}

// --- step 2: S3 (optional) --------------------------------------------------------------------

function S3Step({ existing, onDone }: { existing: Schemas["S3ConfigOut"] | undefined; onDone: () => void }) {
  const id = useId();
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ name: "offsite", bucket: "", endpoint: "", region: "us-east-1", accessKeyId: "", secretAccessKey: "" });
  const set = (field: keyof typeof form) => (value: string) => setForm((f) => ({ ...f, [field]: value }));
  const create = useMutation({
    mutationFn: async () => {
      const created = await wizardApi.createS3({
        name: form.name.trim(),
        bucket: form.bucket.trim(),
        endpoint: form.endpoint.trim() || null,
        region: form.region.trim() || "us-east-1",
        accessKeyId: form.accessKeyId.trim(),
        secretAccessKey: form.secretAccessKey,
        addressingStyle: form.endpoint.trim() ? "path" : "auto",
      });
      return { created: created.data, test: (await wizardApi.testS3(created.data.id)).data };
    },
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: queryKeys.s3Configs() }),
  });
  const saved = create.data;
  if (existing && !saved) {
    return (
      <div className="space-y-3 text-sm">
        <p>
          Backups can also go to the bucket <span className="font-mono">{existing.bucket}</span> ({existing.name}).
        </p>
        <StepActions>
          <button type="button" className={BUTTON} onClick={onDone}>
            Next: schedule
          </button>
        </StepActions>
      </div>
    );
  }
  const input = (field: keyof typeof form, label: string, props: Record<string, unknown> = {}, hint?: string) => (
    <Field id={`${id}-${field}`} label={label} hint={hint}>
      <input id={`${id}-${field}`} className={INPUT} value={form[field]} onChange={(e) => set(field)(e.target.value)} {...props} />
    </Field>
  );
  return (
    <form
      className="space-y-4"
      data-testid="wizard-s3"
      onSubmit={(event) => {
        event.preventDefault();
        create.mutate();
      }}
    >
      <p className="text-sm text-zinc-600 dark:text-zinc-400">
        Keep a copy of every backup off this machine in an S3-compatible bucket (AWS, MinIO, R2, B2…). You can skip this and add it later.
      </p>
      <div className="grid gap-4 sm:grid-cols-2">
        {input("name", "Name", { required: true, autoComplete: "off" })}
        {input("bucket", "Bucket", { required: true, autoComplete: "off" })}
        {input("endpoint", "Endpoint", { type: "url", placeholder: "https://s3.example.com", autoComplete: "off" }, "Empty for AWS.")}
        {input("region", "Region", { autoComplete: "off" })}
        {input("accessKeyId", "Access key id", { required: true, autoComplete: "off" })}
        {input("secretAccessKey", "Secret access key", { required: true, type: "password", autoComplete: "new-password" })}
      </div>
      <div aria-live="polite">
        {create.isError && <FormStatus error={create.error} />}
        {saved && (
          <p className={`text-sm ${saved.test.ok ? "text-emerald-700 dark:text-emerald-400" : "text-amber-700 dark:text-amber-400"}`}>
            {saved.test.ok ? "Bucket reachable: read, write and delete work." : `Saved, but the access test failed: ${saved.test.error ?? "unknown error"}`}
          </p>
        )}
      </div>
      <StepActions>
        {saved ? (
          <button type="button" className={BUTTON} onClick={onDone}>
            Next: schedule
          </button>
        ) : (
          <>
            <button type="submit" className={BUTTON} disabled={create.isPending}>
              {create.isPending ? "Testing…" : "Save and test"}
            </button>
            <button type="button" className={SECONDARY} onClick={onDone} data-testid="wizard-skip-s3">
              Skip S3
            </button>
          </>
        )}
      </StepActions>
    </form>
  );
}

// --- step 3: the first schedule --------------------------------------------------------------

const PRESETS: { type: "hourly" | "daily" | "weekly" | "monthly"; label: string; hint: string }[] = [
  { type: "hourly", label: "Hourly", hint: "At minute 0 of every hour" },
  { type: "daily", label: "Daily", hint: "Every day at 02:00" },
  { type: "weekly", label: "Weekly", hint: "Sundays at 03:00" },
  { type: "monthly", label: "Monthly", hint: "The 1st at 04:00" },
];

function ScheduleStep({ databaseId, hasS3, onDone }: { databaseId: string; hasS3: boolean; onDone: () => void }) {
  const id = useId();
  const queryClient = useQueryClient();
  const [preset, setPreset] = useState<(typeof PRESETS)[number]["type"]>("daily");
  const [toS3, setToS3] = useState(hasS3);
  const existing = useQuery({ queryKey: queryKeys.schedules(), queryFn: wizardApi.schedules });
  const create = useMutation({
    mutationFn: () => wizardApi.createSchedule({ databaseConfigId: databaseId, scheduleType: preset, s3UploadEnabled: toS3 }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.schedules() });
      onDone();
    },
  });
  const already = existing.data?.data.find((s) => s.databaseConfigId === databaseId);
  if (already) {
    return (
      <div className="space-y-3 text-sm">
        <p>
          A {already.scheduleType} schedule (<span className="font-mono">{already.cronExpression}</span>, {already.timezone}) backs this database up.
        </p>
        <StepActions>
          <button type="button" className={BUTTON} onClick={onDone}>
            Next: test backup
          </button>
        </StepActions>
      </div>
    );
  }
  return (
    <form
      className="space-y-4"
      data-testid="wizard-schedule"
      onSubmit={(event) => {
        event.preventDefault();
        create.mutate();
      }}
    >
      <p className="text-sm text-zinc-600 dark:text-zinc-400">How often should Lifeboat back this database up? You can fine-tune it with a cron expression later.</p>
      <fieldset className="grid gap-2 sm:grid-cols-2 lg:grid-cols-4">
        <legend className="sr-only">Frequency</legend>
        {PRESETS.map((item) => (
          <label
            key={item.type}
            className={`flex cursor-pointer items-start gap-2 rounded-lg border p-3 text-sm ${
              preset === item.type ? "border-orange-500 bg-orange-50 dark:bg-orange-950/40" : "border-zinc-200 dark:border-zinc-800"
            }`}
          >
            <input type="radio" className={`${CHECKBOX} mt-0.5`} name={`${id}-preset`} checked={preset === item.type} onChange={() => setPreset(item.type)} />
            <span>
              <span className="font-medium">{item.label}</span>
              <span className="block text-xs text-zinc-500 dark:text-zinc-400">{item.hint}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {hasS3 && (
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" className={CHECKBOX} checked={toS3} onChange={(e) => setToS3(e.target.checked)} />
          Also upload each backup to S3
        </label>
      )}
      <div aria-live="polite">{create.isError && <FormStatus error={create.error} />}</div>
      <StepActions>
        <button type="submit" className={BUTTON} disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create schedule"}
        </button>
      </StepActions>
    </form>
  );
}

// --- step 4: a test backup --------------------------------------------------------------------

const TERMINAL = new Set(["completed", "failed", "cancelled", "skipped"]);

function BackupStep({ databaseId, toS3, onFinish }: { databaseId: string; toS3: boolean; onFinish: () => void }) {
  const [backupId, setBackupId] = useState<string | null>(null);
  const start = useMutation({
    mutationFn: () => wizardApi.startBackup({ databaseId, uploadToS3: toS3 }),
    onSuccess: (result) => setBackupId(result.data.id),
  });
  const backup = useQuery({
    queryKey: [...queryKeys.backups(), "wizard", backupId],
    queryFn: () => wizardApi.backup(backupId ?? ""),
    enabled: backupId !== null,
    refetchInterval: (query) => (TERMINAL.has(query.state.data?.data.status ?? "") ? false : 1000),
  });
  const record = backup.data?.data;
  const finished = record !== undefined && TERMINAL.has(record.status);
  return (
    <div className="space-y-4 text-sm" data-testid="wizard-backup">
      <p className="text-zinc-600 dark:text-zinc-400">
        Run one backup now to check that everything works end to end: dump, compression, storage{toS3 ? ", upload to S3" : ""}.
      </p>
      {record && (
        <div className="space-y-2 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800" aria-live="polite" data-testid="wizard-backup-status">
          <div className="flex flex-wrap items-center gap-2">
            <StatusBadge status={record.status} />
            <span className="font-mono text-xs break-all">{record.fileName ?? "preparing…"}</span>
          </div>
          {!finished && (
            <div>
              <div className="h-2 overflow-hidden rounded bg-zinc-200 dark:bg-zinc-800">
                <div className="h-full w-1/3 animate-pulse rounded bg-orange-500" />
              </div>
              <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">{formatBytes(record.progressBytes)} written so far…</p>
            </div>
          )}
          {record.status === "completed" && (
            <p className="text-emerald-700 dark:text-emerald-400">
              Backup completed: {formatBytes(record.fileSizeBytes ?? 0)} in {record.durationSeconds ?? 0} s
              {record.s3Status ? `, S3 copy ${record.s3Status}` : ""}.{" "}
              <Link to={`/backups/${record.id}`} className={LINK}>
                See it
              </Link>
            </p>
          )}
          {finished && record.status !== "completed" && <p className="text-red-700 dark:text-red-400">{record.errorMessage ?? `The backup ended ${record.status}.`}</p>}
        </div>
      )}
      <div aria-live="polite">
        {start.isError && <FormStatus error={start.error} />}
        {backup.isError && <ErrorState error={backup.error} />}
      </div>
      <StepActions>
        {record?.status === "completed" ? (
          <button type="button" className={BUTTON} onClick={onFinish}>
            Finish setup
          </button>
        ) : (
          <button type="button" className={BUTTON} disabled={start.isPending || (record !== undefined && !finished)} onClick={() => start.mutate()}>
            {record && !finished ? "Backing up…" : record ? "Try again" : "Run test backup"}
          </button>
        )}
      </StepActions>
    </div>
  );
}

// --- the page ---------------------------------------------------------------------------------

export function SetupWizard() {
  const me = useMe();
  const admin = can(me.data?.data, "system.configure");
  const queryClient = useQueryClient();
  const { settings, databases } = useWizardFacts(admin);
  const s3 = useQuery({ queryKey: queryKeys.s3Configs(), queryFn: wizardApi.s3Configs, enabled: admin });
  const [step, setStep] = useState<WizardStep | null>(null);
  const [databaseId, setDatabaseId] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: wizardApi.saveState,
    onSuccess: (result) => queryClient.setQueryData(queryKeys.settings(), result),
  });
  const stored = wizardState(settings.data?.data);
  useEffect(() => {
    if (step === null && settings.data) setStep(stored !== null && stored !== "done" && stored !== "dismissed" ? stored : "database");
  }, [step, settings.data, stored]);

  if (me.data && !admin) {
    return <ErrorState error={new Error("Only an admin can run the setup wizard.")} />;
  }
  if (settings.isError) return <ErrorState error={settings.error} onRetry={() => void settings.refetch()} />;
  if (databases.isError) return <ErrorState error={databases.error} onRetry={() => void databases.refetch()} />;
  if (step === null || !databases.data || !s3.data) return <Loading label="Loading setup…" />;

  const firstDatabase = databases.data.data.find((d) => d.id === databaseId) ?? databases.data.data[0];
  const go = (next: WizardStep) => {
    setStep(next);
    save.mutate(next);
  };
  const leave = (state: "done" | "dismissed") => {
    save.mutate(state, { onSettled: () => navigate("/", { replace: true }) });
  };
  return (
    <div className="mx-auto max-w-3xl">
      <div className="mb-4 flex flex-wrap items-start justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Set up Lifeboat</h1>
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">Four short steps to a first verified backup. You can leave and come back.</p>
        </div>
        <button type="button" className={SECONDARY} onClick={() => leave("dismissed")} data-testid="wizard-dismiss">
          Skip setup
        </button>
      </div>
      <Stepper current={step} />
      <Panel title={`Step ${WIZARD_STEPS.indexOf(step) + 1} of ${WIZARD_STEPS.length}: ${STEP_LABELS[step]}`}>
        {step === "database" && (
          <DatabaseStep
            existing={firstDatabase}
            onDone={(id) => {
              setDatabaseId(id);
              go("s3");
            }}
          />
        )}
        {step === "s3" && <S3Step existing={s3.data.data[0]} onDone={() => go("schedule")} />}
        {step === "schedule" &&
          (firstDatabase ? (
            <ScheduleStep databaseId={firstDatabase.id} hasS3={s3.data.data.some((c) => c.enabled)} onDone={() => go("backup")} />
          ) : (
            <BackToDatabase onBack={() => go("database")} />
          ))}
        {step === "backup" &&
          (firstDatabase ? (
            <BackupStep databaseId={firstDatabase.id} toS3={s3.data.data.some((c) => c.enabled)} onFinish={() => leave("done")} />
          ) : <BackToDatabase onBack={() => go("database")} />)}
      </Panel>
      {step !== "database" && (
        <button type="button" className={`${LINK} mt-3 text-sm`} onClick={() => go(WIZARD_STEPS[WIZARD_STEPS.indexOf(step) - 1] ?? "database")}>
          ← Back
        </button>
      )}
    </div>
  );
}

function BackToDatabase({ onBack }: { onBack: () => void }) {
  return (
    <div className="space-y-3 text-sm">
      <p>No database is configured yet.</p>
      <button type="button" className={BUTTON} onClick={onBack}>
        Add a database
      </button>
    </div>
  );
}

/** Wraps the dashboard: an admin of an install without databases, who never finished or
 * dismissed the wizard, is sent to it; a wizard under way is offered again. */
export function FirstRunGate({ children }: { children: ReactNode }) {
  const me = useMe();
  const admin = can(me.data?.data, "system.configure");
  const { settings, databases } = useWizardFacts(admin);
  const state = wizardState(settings.data?.data);
  const empty = databases.data?.data.length === 0;
  const fresh = admin && settings.data !== undefined && state === null && empty;
  useEffect(() => {
    if (fresh) navigate("/get-started", { replace: true });
  }, [fresh]);
  const deciding = me.isPending || (admin && (settings.isPending || databases.isPending));
  if (fresh || deciding) return <Loading label={fresh ? "Opening setup…" : "Loading…"} />;
  const underway = admin && state !== null && state !== "done" && state !== "dismissed";
  return (
    <>
      {underway && (
        <div
          className="mb-4 flex flex-wrap items-center justify-between gap-3 rounded-lg border border-orange-200 bg-orange-50 px-4 py-3 text-sm text-orange-900 dark:border-orange-900 dark:bg-orange-950/40 dark:text-orange-200"
          data-testid="wizard-resume"
        >
          <span>Setup is not finished yet.</span>
          <Link to="/get-started" className={LINK}>
            Continue setup →
          </Link>
        </div>
      )}
      {children}
    </>
  );
}
