import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import {
  BUTTON,
  CHECKBOX,
  DANGER,
  Field,
  FormStatus,
  INPUT,
  LINK,
  ReadOnlyNote,
  SECONDARY,
  TD,
  Toggle,
  ZoneList,
  browserZone,
  fieldErrors,
  formatInZone,
} from "../components/Form.tsx";
import { Empty, ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import { VERIFY_EVERY_HINT, VerifyEverySelect } from "../components/Verification.tsx";
import type { VerifyEvery } from "../lib/verification.ts";
import { ApiError, api, type Compression, type Schedule, type ScheduleInput, type ScheduleType } from "../lib/api.ts";
import { PREDEFINED_CRON, describePolicy } from "../lib/labels.ts";
import { can, useMe } from "../lib/auth.ts";
import { formatRelative } from "../lib/format.ts";
import { useDebounced } from "../lib/hooks/common.ts";
import { useDeleteSchedule, useSchedules, useSetScheduleEnabled } from "../lib/hooks/schedules.ts";
import { Link, navigate } from "../lib/router.tsx";
import { DataTable } from "../components/DataTable.tsx";
import { EditLoader } from "../components/EditLoader.tsx";
import { queryKeys } from "../lib/queryKeys.ts";
import { toast } from "../lib/toast.ts";
import { useRetentionPolicies } from "../lib/hooks/retention.ts";
import { useS3Configs } from "../lib/hooks/system.ts";
import { useDatabases } from "../lib/hooks/databases.ts";

const TYPES: { value: ScheduleType; label: string; hint: string }[] = [
  { value: "hourly", label: "Hourly", hint: "top of every hour" },
  { value: "daily", label: "Daily", hint: "02:00 every day" },
  { value: "weekly", label: "Weekly", hint: "03:00 every Sunday" },
  { value: "monthly", label: "Monthly", hint: "04:00 on the 1st" },
  { value: "custom", label: "Custom", hint: "write your own" },
];

const TYPE_LABEL: Record<string, string> = Object.fromEntries(TYPES.map((t) => [t.value, t.label]));

function usePolicyNames() {
  const policies = useRetentionPolicies();
  const names = new Map((policies.data?.data ?? []).map((p) => [p.id, p.name]));
  return { policies, names };
}

function ScheduleRow({ schedule, policyName, canManage }: { schedule: Schedule; policyName: string | null; canManage: boolean }) {
  const queryClient = useQueryClient();
  const toggle = useSetScheduleEnabled(schedule);
  const remove = useDeleteSchedule(schedule, () => void queryClient.invalidateQueries({ queryKey: queryKeys.retentionPolicies() }));
  const label = `${schedule.databaseName ?? "unknown database"} ${TYPE_LABEL[schedule.scheduleType] ?? schedule.scheduleType}`;
  const enabled = toggle.isPending && toggle.variables !== undefined ? toggle.variables : schedule.enabled;
  return (
    <tr data-testid="schedule-row">
      <td className={`${TD} font-medium`}>{schedule.databaseName ?? "—"}</td>
      <td className={TD}>{TYPE_LABEL[schedule.scheduleType] ?? schedule.scheduleType}</td>
      <td className={`${TD} font-mono text-xs whitespace-nowrap`}>{schedule.cronExpression}</td>
      <td className={`${TD} whitespace-nowrap`}>{schedule.timezone}</td>
      <td className={TD}>
        <Toggle
          checked={enabled}
          disabled={!canManage || toggle.isPending}
          label={`${enabled ? "Disable" : "Enable"} schedule ${label}`}
          onChange={(next) => toggle.mutate(next)}
        />
      </td>
      <td className={`${TD} whitespace-nowrap`} data-testid="next-run">
        {schedule.nextRunAt ? (
          <span title={formatInZone(schedule.nextRunAt, schedule.timezone)}>
            {formatRelative(schedule.nextRunAt)}
            <span className="block text-xs text-zinc-500 dark:text-zinc-400">
              {formatInZone(schedule.nextRunAt, schedule.timezone)}
            </span>
          </span>
        ) : (
          <span className="text-zinc-500 dark:text-zinc-400">{schedule.enabled ? "—" : "paused"}</span>
        )}
      </td>
      <td className={TD}>{policyName ?? <span className="text-zinc-500 dark:text-zinc-400">none</span>}</td>
      <td className={`${TD} whitespace-nowrap text-right`}>
        {canManage && (
          <span className="inline-flex gap-2">
            <Link to={`/schedules/${encodeURIComponent(schedule.id)}/edit`} className={SECONDARY} aria-label={`Edit schedule ${label}`}>
              Edit
            </Link>
            <button
              type="button"
              className={DANGER}
              disabled={remove.isPending}
              aria-label={`Delete schedule ${label}`}
              onClick={() => {
                if (window.confirm(`Delete the ${label} schedule? Its past backups stay.`)) remove.mutate();
              }}
            >
              Delete
            </button>
          </span>
        )}
        {(toggle.error ?? remove.error) && (
          <p className="mt-1 text-xs text-red-700 dark:text-red-400">{(toggle.error ?? remove.error)?.message}</p>
        )}
      </td>
    </tr>
  );
}

export function Schedules() {
  const me = useMe();
  const canManage = can(me.data?.data, "schedule.manage");
  const schedules = useSchedules();
  const { names } = usePolicyNames();

  return (
    <>
      <PageHeader
        title="Schedules"
        actions={
          canManage ? (
            <Link to="/schedules/new" className={BUTTON}>
              New schedule
            </Link>
          ) : null
        }
      />
      {me.data && !canManage && <ReadOnlyNote>Your role can view schedules but not change them.</ReadOnlyNote>}
      <Panel>
        {schedules.isPending ? (
          <Loading label="Loading schedules…" />
        ) : schedules.isError ? (
          <ErrorState error={schedules.error} onRetry={() => void schedules.refetch()} />
        ) : schedules.data.data.length === 0 ? (
          <Empty>
            No schedules yet.{" "}
            {canManage && (
              <Link to="/schedules/new" className={LINK}>
                Create the first one
              </Link>
            )}
          </Empty>
        ) : (
          <DataTable
            columns={[
              "Database",
              "Type",
              "Cron",
              "Zone",
              "Enabled",
              "Next run",
              "Retention",
              { label: "Actions", srOnly: true },
            ]}
          >
            {schedules.data.data.map((schedule) => (
              <ScheduleRow
                key={schedule.id}
                schedule={schedule}
                canManage={canManage}
                policyName={schedule.retentionPolicyId ? (names.get(schedule.retentionPolicyId) ?? "unknown policy") : null}
              />
            ))}
          </DataTable>
        )}
      </Panel>
    </>
  );
}

interface FormValues {
  databaseConfigId: string;
  scheduleType: ScheduleType;
  cronExpression: string;
  timezone: string;
  retentionPolicyId: string;
  s3UploadEnabled: boolean;
  s3ConfigId: string;
  storeLocally: boolean;
  compression: Compression;
  enabled: boolean;
  retryCount: string;
  retryDelaySeconds: string;
  verifyEvery: VerifyEvery;
}

function initialValues(schedule?: Schedule): FormValues {
  if (!schedule) {
    return {
      // /schedules/new?databaseId=… (from a database's details page) preselects it.
      databaseConfigId: new URLSearchParams(window.location.search).get("databaseId") ?? "",
      scheduleType: "daily",
      cronExpression: PREDEFINED_CRON.daily,
      timezone: browserZone(),
      retentionPolicyId: "",
      s3UploadEnabled: false,
      s3ConfigId: "",
      storeLocally: true,
      compression: "zstd",
      enabled: true,
      retryCount: "",
      retryDelaySeconds: "",
      verifyEvery: "none",
    };
  }
  return {
    databaseConfigId: schedule.databaseConfigId,
    scheduleType: schedule.scheduleType,
    cronExpression: schedule.cronExpression,
    timezone: schedule.timezone,
    retentionPolicyId: schedule.retentionPolicyId ?? "",
    s3UploadEnabled: schedule.s3UploadEnabled,
    s3ConfigId: schedule.s3ConfigId ?? "",
    storeLocally: schedule.storeLocally,
    compression: schedule.compression,
    enabled: schedule.enabled,
    retryCount: schedule.retryCount === null ? "" : String(schedule.retryCount),
    retryDelaySeconds: schedule.retryDelaySeconds === null ? "" : String(schedule.retryDelaySeconds),
    verifyEvery: schedule.verifyEvery ?? "none",
  };
}

function toInput(values: FormValues): ScheduleInput & { verifyEvery: VerifyEvery } {
  return {
    databaseConfigId: values.databaseConfigId,
    scheduleType: values.scheduleType,
    // The predefined types carry their own expression; the API refuses a different one.
    ...(values.scheduleType === "custom" ? { cronExpression: values.cronExpression.trim() } : {}),
    timezone: values.timezone.trim(),
    retentionPolicyId: values.retentionPolicyId || null,
    s3UploadEnabled: values.s3UploadEnabled,
    s3ConfigId: values.s3UploadEnabled ? values.s3ConfigId || null : null,
    // Without an S3 copy the local one is the only one.
    storeLocally: values.s3UploadEnabled ? values.storeLocally : true,
    compression: values.compression,
    enabled: values.enabled,
    retryCount: values.retryCount === "" ? null : Number(values.retryCount),
    retryDelaySeconds: values.retryDelaySeconds === "" ? null : Number(values.retryDelaySeconds),
    verifyEvery: values.verifyEvery,
  };
}

/** The next fire times of the expression being edited (or why there are none). */
function NextRunsPreview({ cron, zone, preview }: { cron: string; zone: string; preview: ReturnType<typeof usePreview> }) {
  return (
    <div aria-live="polite" data-testid="next-runs" className="rounded-lg border border-zinc-200 bg-zinc-50 p-3 text-sm dark:border-zinc-800 dark:bg-zinc-950/50">
      <p className="mb-1 font-medium text-zinc-700 dark:text-zinc-300">Next 5 runs{zone ? ` (${zone})` : ""}</p>
      {cron === "" ? (
        <p className="text-zinc-500 dark:text-zinc-400">Enter a cron expression.</p>
      ) : preview.isError ? (
        <p className="text-zinc-500 dark:text-zinc-400">No preview while the expression or zone is invalid.</p>
      ) : preview.data ? (
        <ol className={`space-y-0.5 tabular-nums ${preview.isFetching ? "opacity-60" : ""}`}>
          {preview.data.data.runs.map((run) => (
            <li key={run}>{formatInZone(run, preview.data.data.timezone)}</li>
          ))}
        </ol>
      ) : (
        <p className="text-zinc-500 dark:text-zinc-400">Computing…</p>
      )}
    </div>
  );
}

function usePreview(cron: string, zone: string) {
  return useQuery({
    queryKey: queryKeys.nextRuns(cron, zone),
    queryFn: () => api.previewCron(cron, zone, 5),
    enabled: cron !== "" && zone !== "",
    retry: false,
    placeholderData: keepPreviousData,
  });
}

/** The API's VALIDATION_ERROR of a preview, as the message for the cron or the zone field. */
function previewErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError) || error.code !== "VALIDATION_ERROR") return {};
  return fieldErrors(error).timezone ? { timezone: error.message } : { cronExpression: error.message };
}

function ScheduleFormBody({ schedule }: { schedule?: Schedule }) {
  const queryClient = useQueryClient();
  const me = useMe();
  const canManage = can(me.data?.data, "schedule.manage");
  const databases = useDatabases();
  const { policies } = usePolicyNames();
  const s3 = useS3Configs({ enabled: can(me.data?.data, "s3.view") });
  const [values, setValues] = useState<FormValues>(() => initialValues(schedule));
  const settledCron = useDebounced(values.cronExpression.trim());
  const settledZone = useDebounced(values.timezone.trim());
  const preview = usePreview(settledCron, settledZone);
  const previewProblems = preview.isError ? previewErrors(preview.error) : {};

  const save = useMutation({
    mutationFn: () =>
      schedule ? api.updateSchedule(schedule.id, toInput(values)) : api.createSchedule(toInput(values)),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.schedules() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.retentionPolicies() });
      toast.success(schedule ? "Schedule saved." : "Schedule created.");
      navigate("/schedules");
    },
  });
  const saveErrors = fieldErrors(save.error);
  const errorFor = (field: string): string | null => {
    if (saveErrors[field]) {
      // The API's message names the problem in full (e.g. "invalid cron expression '61 * * * *': ...").
      return save.error && Object.keys(saveErrors).length === 1 ? save.error.message : saveErrors[field];
    }
    return previewProblems[field] ?? null;
  };
  const generalError = save.error && Object.keys(saveErrors).length === 0 ? save.error : null;

  const set = <K extends keyof FormValues>(key: K, value: FormValues[K]) => {
    if (save.isError) save.reset();
    setValues((v) => ({ ...v, [key]: value }));
  };
  const [missingDatabase, setMissingDatabase] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMissingDatabase(values.databaseConfigId === "");
    if (values.databaseConfigId !== "") save.mutate();
  };

  // Switching to Custom starts from the current expression; the others have a fixed one.
  const pickType = (type: ScheduleType) => {
    if (save.isError) save.reset();
    setValues((v) => ({ ...v, scheduleType: type, cronExpression: type === "custom" ? v.cronExpression : PREDEFINED_CRON[type] }));
  };

  const s3Configs = s3.data?.data ?? [];
  const cronError = errorFor("cronExpression");
  const zoneError = errorFor("timezone");

  return (
    <>
      <PageHeader title={schedule ? "Edit schedule" : "New schedule"} />
      {me.data && !canManage && <ReadOnlyNote>Your role can view schedules but not change them.</ReadOnlyNote>}
      <Panel>
        <form onSubmit={submit} className="grid gap-5 lg:grid-cols-[minmax(0,1fr)_18rem]" noValidate>
          <div className="space-y-5">
            <Field
              id="schedule-database"
              label="Database"
              error={missingDatabase && values.databaseConfigId === "" ? "Choose the database to back up." : errorFor("databaseConfigId")}
              hint={
                databases.isSuccess && databases.data.data.length === 0 ? (
                  <>
                    No database is configured yet:{" "}
                    <Link to="/databases/new" className={LINK}>
                      add one
                    </Link>
                    .
                  </>
                ) : undefined
              }
            >
              <select
                id="schedule-database"
                className={INPUT}
                required
                value={values.databaseConfigId}
                onChange={(e) => set("databaseConfigId", e.target.value)}
              >
                <option value="">{databases.isPending ? "Loading…" : "Select a database"}</option>
                {(databases.data?.data ?? []).map((db) => (
                  <option key={db.id} value={db.id}>
                    {db.name} ({db.type}){db.enabled ? "" : " — disabled"}
                  </option>
                ))}
              </select>
            </Field>
            {databases.isError && <ErrorState error={databases.error} onRetry={() => void databases.refetch()} />}

            <fieldset>
              <legend className="mb-1 text-sm font-medium text-zinc-700 dark:text-zinc-300">Schedule type</legend>
              <div className="grid gap-2 sm:grid-cols-5">
                {TYPES.map((type) => (
                  <label
                    key={type.value}
                    className={`flex cursor-pointer flex-col rounded-md border px-3 py-2 text-sm ${
                      values.scheduleType === type.value
                        ? "border-orange-500 bg-orange-50 dark:border-orange-500 dark:bg-orange-950/30"
                        : "border-zinc-300 hover:bg-zinc-50 dark:border-zinc-700 dark:hover:bg-zinc-800"
                    }`}
                  >
                    <span className="flex items-center gap-2 font-medium">
                      <input
                        type="radio"
                        name="scheduleType"
                        value={type.value}
                        checked={values.scheduleType === type.value}
                        onChange={() => pickType(type.value)}
                        className="accent-orange-600"
                      />
                      {type.label}
                    </span>
                    <span className="text-xs text-zinc-500 dark:text-zinc-400">{type.hint}</span>
                  </label>
                ))}
              </div>
            </fieldset>

            <div className="grid gap-4 sm:grid-cols-2">
              <Field
                id="schedule-cron"
                label="Cron expression"
                error={cronError}
                hint={
                  values.scheduleType === "custom"
                    ? "minute hour day-of-month month day-of-week, e.g. 30 1 * * 1-5"
                    : "Fixed for this type; choose Custom to change it."
                }
              >
                <input
                  id="schedule-cron"
                  className={`${INPUT} font-mono ${cronError ? "border-red-500 dark:border-red-700" : ""}`}
                  value={values.cronExpression}
                  readOnly={values.scheduleType !== "custom"}
                  aria-readonly={values.scheduleType !== "custom"}
                  aria-invalid={cronError ? true : undefined}
                  aria-describedby={cronError ? "schedule-cron-error" : "schedule-cron-hint"}
                  spellCheck={false}
                  autoComplete="off"
                  maxLength={200}
                  onChange={(e) => set("cronExpression", e.target.value)}
                />
              </Field>
              <Field id="schedule-zone" label="Time zone" error={zoneError} hint="IANA name; runs follow this zone's wall clock.">
                <input
                  id="schedule-zone"
                  className={`${INPUT} ${zoneError ? "border-red-500 dark:border-red-700" : ""}`}
                  list="schedule-zones"
                  value={values.timezone}
                  aria-invalid={zoneError ? true : undefined}
                  aria-describedby={zoneError ? "schedule-zone-error" : "schedule-zone-hint"}
                  autoComplete="off"
                  maxLength={64}
                  onChange={(e) => set("timezone", e.target.value)}
                />
                <ZoneList id="schedule-zones" />
              </Field>
            </div>

            <div className="grid gap-4 sm:grid-cols-2">
              <Field
                id="schedule-policy"
                label="Retention policy"
                error={errorFor("retentionPolicyId")}
                hint={
                  <>
                    Applied after each successful backup.{" "}
                    <Link to="/retention-policies/new" className={LINK}>
                      New policy
                    </Link>
                  </>
                }
              >
                <select id="schedule-policy" className={INPUT} value={values.retentionPolicyId} onChange={(e) => set("retentionPolicyId", e.target.value)}>
                  <option value="">None (keep every backup)</option>
                  {(policies.data?.data ?? []).map((policy) => (
                    <option key={policy.id} value={policy.id}>
                      {policy.name} ({describePolicy(policy)})
                    </option>
                  ))}
                </select>
              </Field>
              <Field id="schedule-compression" label="Compression">
                <select id="schedule-compression" className={INPUT} value={values.compression} onChange={(e) => set("compression", e.target.value as Compression)}>
                  <option value="zstd">zstd (fast, default)</option>
                  <option value="gzip">gzip</option>
                </select>
              </Field>
            </div>

            <div className="grid gap-4 sm:grid-cols-2">
              <Field id="schedule-retries" label="Retries after a failure" error={errorFor("retryCount")} hint="0–10; blank uses the server default.">
                <input id="schedule-retries" className={INPUT} type="number" min={0} max={10} inputMode="numeric" value={values.retryCount} onChange={(e) => set("retryCount", e.target.value)} />
              </Field>
              <Field id="schedule-retry-delay" label="First retry after (seconds)" error={errorFor("retryDelaySeconds")} hint="Doubles on each retry; blank uses the server default.">
                <input id="schedule-retry-delay" className={INPUT} type="number" min={1} max={86400} inputMode="numeric" value={values.retryDelaySeconds} onChange={(e) => set("retryDelaySeconds", e.target.value)} />
              </Field>
            </div>

            <Field id="schedule-verify" label="Verification restore" hint={VERIFY_EVERY_HINT}>
              <VerifyEverySelect id="schedule-verify" value={values.verifyEvery} onChange={(value) => set("verifyEvery", value)} />
            </Field>

            <div className="space-y-2">
              <label className="flex items-center gap-2 text-sm">
                <input type="checkbox" className={CHECKBOX} checked={values.s3UploadEnabled} onChange={(e) => set("s3UploadEnabled", e.target.checked)} />
                Upload to S3
              </label>
              {values.s3UploadEnabled && s3.isSuccess && s3Configs.length === 0 && (
                <p className="text-xs text-amber-700 dark:text-amber-400">
                  No S3 configuration exists yet: scheduled backups will fail their upload until you{" "}
                  <Link to="/s3-configs/new" className={LINK}>add one</Link>.
                </p>
              )}
              {values.s3UploadEnabled && s3Configs.length > 0 && (
                <div className="grid gap-4 pl-6 sm:grid-cols-2">
                  <Field id="schedule-s3" label="S3 configuration" error={errorFor("s3ConfigId")}>
                    <select id="schedule-s3" className={INPUT} value={values.s3ConfigId} onChange={(e) => set("s3ConfigId", e.target.value)}>
                      <option value="">Default ({s3Configs.find((c) => c.isDefault)?.name ?? "none marked default"})</option>
                      {s3Configs.map((config) => (
                        <option key={config.id} value={config.id}>
                          {config.name} — s3://{config.bucket}
                        </option>
                      ))}
                    </select>
                  </Field>
                  <div className="flex items-end pb-2">
                    <label className="flex items-center gap-2 text-sm">
                      <input
                        type="checkbox"
                        className={CHECKBOX}
                        checked={values.storeLocally}
                        onChange={(e) => set("storeLocally", e.target.checked)}
                      />
                      Also keep a local copy
                    </label>
                  </div>
                  {errorFor("storeLocally") && <p className="text-xs text-red-700 dark:text-red-400 sm:col-span-2">{errorFor("storeLocally")}</p>}
                </div>
              )}
              <label className="flex items-center gap-2 text-sm">
                <input type="checkbox" className={CHECKBOX} checked={values.enabled} onChange={(e) => set("enabled", e.target.checked)} />
                Enabled
              </label>
            </div>

            {generalError && <FormStatus error={generalError} />}
            <div className="flex gap-2">
              <Link to="/schedules" className={SECONDARY}>
                Cancel
              </Link>
              <button type="submit" className={BUTTON} disabled={save.isPending || !canManage}>
                {save.isPending ? "Saving…" : "Save schedule"}
              </button>
            </div>
          </div>
          <aside>
            <NextRunsPreview cron={settledCron} zone={settledZone} preview={preview} />
          </aside>
        </form>
      </Panel>
    </>
  );
}

export function ScheduleForm({ scheduleId }: { scheduleId?: string }) {
  return (
    <EditLoader
      id={scheduleId}
      queryKey="schedule"
      load={api.schedule}
      what="schedule"
      render={(item) => <ScheduleFormBody schedule={item} />}
    />
  );
}
