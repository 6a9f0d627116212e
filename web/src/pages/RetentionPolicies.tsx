import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import {
  BUTTON,
  DANGER,
  Field,
  FormStatus,
  INPUT,
  LINK,
  ReadOnlyNote,
  SECONDARY,
  TD,
  ZoneList,
  browserZone,
  fieldErrors,
} from "../components/Form.tsx";
import { Empty, ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import { can, useMe } from "../lib/auth.ts";
import { formatBytes, formatDateTime } from "../lib/format.ts";
import { api, type PreviewItem, type RetentionMode, type RetentionPolicy, type RetentionPolicyInput } from "../lib/api.ts";
import { MODE_LABEL, describePolicy } from "../lib/labels.ts";
import { Link, navigate, useSearch } from "../lib/router.tsx";
import { DataTable } from "../components/DataTable.tsx";
import { EditLoader } from "../components/EditLoader.tsx";
import { queryKeys } from "../lib/queryKeys.ts";
import { toast } from "../lib/toast.ts";
import { useRetentionPolicies } from "../lib/hooks/retention.ts";
import { useDatabases } from "../lib/hooks/databases.ts";

const MODES: { value: RetentionMode; hint: string }[] = [
  { value: "count", hint: "Keep the newest backup of each of the last N hours, days, weeks, months, years." },
  { value: "age", hint: "Delete backups older than a number of days." },
  { value: "size", hint: "Keep the newest backups while their total size fits a budget." },
  { value: "hybrid", hint: "Keep a backup only if the tiers keep it and it fits the age and size limits." },
];

const TIERS = [
  { key: "keepHourly", label: "Hourly" },
  { key: "keepDaily", label: "Daily" },
  { key: "keepWeekly", label: "Weekly" },
  { key: "keepMonthly", label: "Monthly" },
  { key: "keepYearly", label: "Yearly" },
] as const;

const SIZE_UNITS = [
  { label: "MB", bytes: 1024 ** 2 },
  { label: "GB", bytes: 1024 ** 3 },
  { label: "TB", bytes: 1024 ** 4 },
] as const;

export function RetentionPolicies() {
  const me = useMe();
  const canManage = can(me.data?.data, "retention.manage");
  const queryClient = useQueryClient();
  const policies = useRetentionPolicies();
  const remove = useMutation({
    mutationFn: (policyId: string) => api.deletePolicy(policyId),
    onSuccess: () => {
      toast.success("Retention policy deleted.");
      void queryClient.invalidateQueries({ queryKey: queryKeys.retentionPolicies() });
    },
    onError: (error) => toast.error(`Could not delete the retention policy: ${error.message}`),
  });

  return (
    <>
      <PageHeader
        title="Retention policies"
        actions={
          canManage ? (
            <Link to="/retention-policies/new" className={BUTTON}>
              New policy
            </Link>
          ) : null
        }
      />
      {me.data && !canManage && <ReadOnlyNote>Your role can view and preview policies but not change them.</ReadOnlyNote>}
      <Panel>
        {policies.isPending ? (
          <Loading label="Loading retention policies…" />
        ) : policies.isError ? (
          <ErrorState error={policies.error} onRetry={() => void policies.refetch()} />
        ) : policies.data.data.length === 0 ? (
          <Empty>
            No retention policies yet: backups are kept until deleted by hand.{" "}
            {canManage && (
              <Link to="/retention-policies/new" className={LINK}>
                Create a policy
              </Link>
            )}
          </Empty>
        ) : (
          <div className="overflow-x-auto">
            <DataTable
              columns={[
                "Name",
                "Mode",
                "Keeps",
                "Zone",
                "Schedules",
                { label: "Actions", srOnly: true },
              ]}
            >
              {policies.data.data.map((policy) => (
                <tr key={policy.id} data-testid="policy-row">
                  <td className={TD}>
                    <span className="font-medium">{policy.name}</span>
                    {policy.description && (
                      <span className="block max-w-xs truncate text-xs text-zinc-500 dark:text-zinc-400" title={policy.description}>
                        {policy.description}
                      </span>
                    )}
                  </td>
                  <td className={TD}>{MODE_LABEL[policy.mode]}</td>
                  <td className={TD}>{describePolicy(policy)}</td>
                  <td className={`${TD} whitespace-nowrap`}>{policy.timezone}</td>
                  <td className={`${TD} tabular-nums`}>{policy.scheduleCount}</td>
                  <td className={`${TD} whitespace-nowrap text-right`}>
                    <span className="inline-flex gap-2">
                      <Link to={`/retention-policies/${encodeURIComponent(policy.id)}`} className={SECONDARY} aria-label={`${canManage ? "Edit" : "View"} policy ${policy.name}`}>
                        {canManage ? "Edit / preview" : "Preview"}
                      </Link>
                      {canManage && (
                        <button
                          type="button"
                          className={DANGER}
                          disabled={remove.isPending || policy.scheduleCount > 0}
                          title={policy.scheduleCount > 0 ? "Used by schedules: change them first" : undefined}
                          aria-label={`Delete policy ${policy.name}`}
                          onClick={() => {
                            if (window.confirm(`Delete the retention policy "${policy.name}"?`)) remove.mutate(policy.id);
                          }}
                        >
                          Delete
                        </button>
                      )}
                    </span>
                  </td>
                </tr>
              ))}
            </DataTable>
            <FormStatus error={remove.error} />
          </div>
        )}
      </Panel>
    </>
  );
}

interface FormValues {
  name: string;
  description: string;
  mode: RetentionMode;
  keepHourly: string;
  keepDaily: string;
  keepWeekly: string;
  keepMonthly: string;
  keepYearly: string;
  maxAgeDays: string;
  maxSize: string;
  sizeUnit: number;
  timezone: string;
}

function sizeParts(bytes: number | null): { maxSize: string; sizeUnit: number } {
  if (bytes === null) return { maxSize: "", sizeUnit: 1024 ** 3 };
  const unit = [...SIZE_UNITS].reverse().find((u) => bytes >= u.bytes && bytes % u.bytes === 0) ?? SIZE_UNITS[0];
  return { maxSize: String(bytes / unit.bytes), sizeUnit: unit.bytes };
}

function initialValues(policy?: RetentionPolicy): FormValues {
  if (!policy) {
    return {
      name: "",
      description: "",
      mode: "count",
      keepHourly: "24",
      keepDaily: "7",
      keepWeekly: "4",
      keepMonthly: "12",
      keepYearly: "0",
      maxAgeDays: "",
      maxSize: "",
      sizeUnit: 1024 ** 3,
      timezone: browserZone(),
    };
  }
  return {
    name: policy.name,
    description: policy.description ?? "",
    mode: policy.mode,
    keepHourly: String(policy.keepHourly),
    keepDaily: String(policy.keepDaily),
    keepWeekly: String(policy.keepWeekly),
    keepMonthly: String(policy.keepMonthly),
    keepYearly: String(policy.keepYearly),
    maxAgeDays: policy.maxAgeDays === null ? "" : String(policy.maxAgeDays),
    ...sizeParts(policy.maxTotalBytes),
    timezone: policy.timezone,
  };
}

const count = (text: string) => (text.trim() === "" ? 0 : Number(text));

function toInput(values: FormValues): RetentionPolicyInput {
  const age = values.mode === "age" || values.mode === "hybrid";
  const size = values.mode === "size" || values.mode === "hybrid";
  return {
    name: values.name.trim(),
    description: values.description.trim() || null,
    mode: values.mode,
    keepHourly: count(values.keepHourly),
    keepDaily: count(values.keepDaily),
    keepWeekly: count(values.keepWeekly),
    keepMonthly: count(values.keepMonthly),
    keepYearly: count(values.keepYearly),
    maxAgeDays: age && values.maxAgeDays.trim() !== "" ? Number(values.maxAgeDays) : null,
    maxTotalBytes: size && values.maxSize.trim() !== "" ? Math.round(Number(values.maxSize) * values.sizeUnit) : null,
    timezone: values.timezone.trim(),
  };
}

function PreviewList({ title, items, tone }: { title: string; items: PreviewItem[]; tone: "keep" | "delete" }) {
  return (
    <section aria-label={title} data-testid={`preview-${tone}`}>
      <h3 className={`mb-2 text-sm font-semibold ${tone === "keep" ? "text-emerald-700 dark:text-emerald-400" : "text-red-700 dark:text-red-400"}`}>
        {title} ({items.length})
      </h3>
      {items.length === 0 ? (
        <p className="text-sm text-zinc-500 dark:text-zinc-400">None.</p>
      ) : (
        <ul className="divide-y divide-zinc-100 rounded-lg border border-zinc-200 dark:divide-zinc-800/60 dark:border-zinc-800">
          {items.map((item) => (
            <li key={item.backupId} className="px-3 py-2 text-sm" data-testid="preview-item">
              <div className="flex flex-wrap items-baseline justify-between gap-2">
                <span className="font-medium tabular-nums">{formatDateTime(item.startedAt)}</span>
                <span className="text-xs text-zinc-500 dark:text-zinc-400">
                  {item.backupType} · {formatBytes(item.sizeBytes)}
                </span>
              </div>
              {item.fileName && <p className="truncate font-mono text-xs text-zinc-500 dark:text-zinc-400" title={item.fileName}>{item.fileName}</p>}
              <ul className="mt-1 flex flex-wrap gap-1">
                {item.reasons.map((reason) => (
                  <li
                    key={reason}
                    className={`rounded-full px-2 py-0.5 text-xs ${
                      tone === "keep"
                        ? "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-300"
                        : "bg-red-100 text-red-800 dark:bg-red-900/40 dark:text-red-300"
                    }`}
                  >
                    {reason}
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Which completed backups of a database the policy as it stands in the form (saved or not)
 * would keep and delete now. */
function PolicyPreview({
  draft,
  databaseId,
  onDatabase,
  asked,
  onAsk,
}: {
  draft: RetentionPolicyInput;
  databaseId: string;
  onDatabase: (databaseId: string) => void;
  asked: boolean;
  onAsk: () => void;
}) {
  const databases = useDatabases();
  const chosen = databaseId || databases.data?.data[0]?.id || "";
  // A draft needs a name to be valid; the preview does not care which.
  const body = { ...draft, name: draft.name || "preview" };
  const preview = useQuery({
    queryKey: queryKeys.retentionPreview(JSON.stringify(body), chosen),
    queryFn: () => api.previewDraftPolicy(body, chosen),
    enabled: asked && chosen !== "",
    retry: false,
    staleTime: 0,
  });

  return (
    <Panel title="Preview">
      <p className="mb-3 text-sm text-zinc-500 dark:text-zinc-400">
        Which completed backups this policy, as it stands in the form, would keep and delete if it ran now — before you save
        it. A preview deletes nothing.
      </p>
      <div className="flex flex-wrap items-end gap-2">
        <Field id="preview-database" label="Database" className="min-w-56 flex-1">
          <select id="preview-database" className={INPUT} value={chosen} onChange={(e) => onDatabase(e.target.value)}>
            {(databases.data?.data ?? []).length === 0 && <option value="">{databases.isPending ? "Loading…" : "No databases"}</option>}
            {(databases.data?.data ?? []).map((db) => (
              <option key={db.id} value={db.id}>
                {db.name}
              </option>
            ))}
          </select>
        </Field>
        <button
          type="button"
          className={BUTTON}
          disabled={chosen === "" || preview.isFetching}
          onClick={() => (asked ? void preview.refetch() : onAsk())}
        >
          {preview.isFetching ? "Previewing…" : "Preview"}
        </button>
      </div>
      <div aria-live="polite" className="mt-4">
        {preview.isError ? (
          <ErrorState error={preview.error} />
        ) : preview.data ? (
          <div className="grid gap-4 md:grid-cols-2" data-testid="retention-preview">
            <PreviewList title="Keep" items={preview.data.data.keep} tone="keep" />
            <PreviewList title="Delete" items={preview.data.data.delete} tone="delete" />
          </div>
        ) : null}
      </div>
    </Panel>
  );
}

function PolicyFormBody({ policy }: { policy?: RetentionPolicy }) {
  const queryClient = useQueryClient();
  const me = useMe();
  const canManage = can(me.data?.data, "retention.manage");
  const search = new URLSearchParams(useSearch());
  const [values, setValues] = useState<FormValues>(() => initialValues(policy));
  const [previewDatabase, setPreviewDatabase] = useState(search.get("preview") ?? "");
  const [previewAsked, setPreviewAsked] = useState(search.has("preview"));

  const save = useMutation({
    mutationFn: () => (policy ? api.updatePolicy(policy.id, toInput(values)) : api.createPolicy(toInput(values))),
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.retentionPolicies() });
      queryClient.setQueryData(["retention-policy", saved.data.id], saved);
      toast.success(`Retention policy ${saved.data.name} ${policy ? "saved" : "created"}.`);
      navigate("/retention-policies");
    },
  });
  const errors = fieldErrors(save.error);
  const generalError = save.error && Object.keys(errors).length === 0 ? save.error : null;
  const set = <K extends keyof FormValues>(key: K, value: FormValues[K]) => {
    if (save.isError) save.reset();
    setValues((v) => ({ ...v, [key]: value }));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  const tiers = values.mode === "count" || values.mode === "hybrid";
  const age = values.mode === "age" || values.mode === "hybrid";
  const size = values.mode === "size" || values.mode === "hybrid";
  const optional = values.mode === "hybrid" ? " (optional)" : "";

  return (
    <>
      <PageHeader title={policy ? (canManage ? "Edit retention policy" : "Retention policy") : "New retention policy"} />
      {me.data && !canManage && <ReadOnlyNote>Your role can preview this policy but not change it.</ReadOnlyNote>}
      <div className="space-y-6">
        <Panel>
          <form onSubmit={submit} className="space-y-5" noValidate>
            <fieldset disabled={!canManage} className="space-y-5">
              <div className="grid gap-4 sm:grid-cols-2">
                <Field id="policy-name" label="Name" error={errors.name}>
                  <input id="policy-name" className={INPUT} required maxLength={100} value={values.name} onChange={(e) => set("name", e.target.value)} />
                </Field>
                <Field id="policy-zone" label="Time zone" error={errors.timezone} hint="Where hours and days begin for the tiers.">
                  <input id="policy-zone" className={INPUT} list="policy-zones" maxLength={64} autoComplete="off" value={values.timezone} onChange={(e) => set("timezone", e.target.value)} />
                  <ZoneList id="policy-zones" />
                </Field>
              </div>
              <Field id="policy-description" label="Description (optional)" error={errors.description}>
                <input id="policy-description" className={INPUT} maxLength={1000} value={values.description} onChange={(e) => set("description", e.target.value)} />
              </Field>

              <fieldset>
                <legend className="mb-1 text-sm font-medium text-zinc-700 dark:text-zinc-300">Mode</legend>
                <div className="grid gap-2 sm:grid-cols-2 xl:grid-cols-4">
                  {MODES.map((mode) => (
                    <label
                      key={mode.value}
                      className={`flex cursor-pointer flex-col rounded-md border px-3 py-2 text-sm ${
                        values.mode === mode.value
                          ? "border-orange-500 bg-orange-50 dark:border-orange-500 dark:bg-orange-950/30"
                          : "border-zinc-300 hover:bg-zinc-50 dark:border-zinc-700 dark:hover:bg-zinc-800"
                      }`}
                    >
                      <span className="flex items-center gap-2 font-medium">
                        <input type="radio" name="mode" value={mode.value} checked={values.mode === mode.value} onChange={() => set("mode", mode.value)} className="accent-orange-600" />
                        {MODE_LABEL[mode.value]}
                      </span>
                      <span className="text-xs text-zinc-500 dark:text-zinc-400">{mode.hint}</span>
                    </label>
                  ))}
                </div>
                {errors.mode && <p role="alert" className="mt-1 text-sm text-red-700 dark:text-red-400">{errors.mode}</p>}
              </fieldset>

              {tiers && (
                <fieldset>
                  <legend className="mb-1 text-sm font-medium text-zinc-700 dark:text-zinc-300">Keep the newest backup of each of the last…</legend>
                  <div className="grid grid-cols-2 gap-3 sm:grid-cols-5">
                    {TIERS.map((tier) => (
                      <Field key={tier.key} id={`policy-${tier.key}`} label={tier.label} error={errors[tier.key]}>
                        <input
                          id={`policy-${tier.key}`}
                          className={INPUT}
                          type="number"
                          min={0}
                          max={100000}
                          inputMode="numeric"
                          value={values[tier.key]}
                          onChange={(e) => set(tier.key, e.target.value)}
                        />
                      </Field>
                    ))}
                  </div>
                  <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">0 turns a tier off. The newest completed backup is always kept.</p>
                </fieldset>
              )}

              {(age || size) && (
                <div className="grid gap-4 sm:grid-cols-2">
                  {age && (
                    <Field id="policy-age" label={`Delete backups older than (days)${optional}`} error={errors.maxAgeDays}>
                      <input id="policy-age" className={INPUT} type="number" min={1} max={36500} inputMode="numeric" value={values.maxAgeDays} onChange={(e) => set("maxAgeDays", e.target.value)} />
                    </Field>
                  )}
                  {size && (
                    <Field id="policy-size" label={`Total size budget${optional}`} error={errors.maxTotalBytes}>
                      <div className="flex gap-2">
                        <input id="policy-size" className={INPUT} type="number" min={0} step="any" inputMode="decimal" value={values.maxSize} onChange={(e) => set("maxSize", e.target.value)} />
                        <select aria-label="Size unit" className={`${INPUT} w-24`} value={values.sizeUnit} onChange={(e) => set("sizeUnit", Number(e.target.value))}>
                          {SIZE_UNITS.map((unit) => (
                            <option key={unit.label} value={unit.bytes}>
                              {unit.label}
                            </option>
                          ))}
                        </select>
                      </div>
                    </Field>
                  )}
                </div>
              )}
            </fieldset>

            {generalError && <FormStatus error={generalError} />}
            <div className="flex gap-2">
              <Link to="/retention-policies" className={SECONDARY}>
                {canManage ? "Cancel" : "Back"}
              </Link>
              {canManage && (
                <button type="submit" className={BUTTON} disabled={save.isPending}>
                  {save.isPending ? "Saving…" : "Save policy"}
                </button>
              )}
            </div>
          </form>
        </Panel>
        <PolicyPreview
          draft={toInput(values)}
          databaseId={previewDatabase}
          onDatabase={setPreviewDatabase}
          asked={previewAsked}
          onAsk={() => setPreviewAsked(true)}
        />
      </div>
    </>
  );
}

export function RetentionPolicyForm({ policyId }: { policyId?: string }) {
  return (
    <EditLoader
      id={policyId}
      queryKey="retention-policy"
      load={api.policy}
      what="retention policy"
      render={(item) => <PolicyFormBody policy={item} />}
    />
  );
}
