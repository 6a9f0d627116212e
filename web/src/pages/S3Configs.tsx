import { useMutation, useQueryClient } from "@tanstack/react-query";
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
  fieldErrors,
} from "../components/Form.tsx";
import { Empty, ErrorState, Loading, PageHeader, Panel } from "../components/States.tsx";
import { can, useMe } from "../lib/auth.ts";
import { formatBytes, formatNumber } from "../lib/format.ts";
import { api, type Addressing, type ChecksumMode, type ImportResult, type S3Config, type S3ConfigInput, type S3Test, type Sse } from "../lib/api.ts";
import { Link, navigate } from "../lib/router.tsx";
import { EditLoader } from "../components/EditLoader.tsx";
import { queryKeys } from "../lib/queryKeys.ts";
import { toast } from "../lib/toast.ts";
import { useS3Configs } from "../lib/hooks/system.ts";

const MiB = 1024 * 1024;
const STORAGE_CLASSES = [
  "STANDARD",
  "STANDARD_IA",
  "ONEZONE_IA",
  "INTELLIGENT_TIERING",
  "GLACIER_IR",
  "GLACIER",
  "DEEP_ARCHIVE",
  "REDUCED_REDUNDANCY",
];
const CHECK_LABEL: Record<string, string> = {
  head_bucket: "Reach the bucket (HeadBucket)",
  put_object: "Write an object (PutObject)",
  delete_object: "Delete an object (DeleteObject)",
};
const SSE_LABEL: Record<string, string> = { AES256: "SSE-S3", "aws:kms": "SSE-KMS" };

function Badge({ children, tone = "zinc" }: { children: string; tone?: "zinc" | "orange" | "emerald" | "red" }) {
  const tones = {
    zinc: "bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300",
    orange: "bg-orange-100 text-orange-800 dark:bg-orange-900/40 dark:text-orange-300",
    emerald: "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-300",
    red: "bg-red-100 text-red-800 dark:bg-red-900/40 dark:text-red-300",
  };
  return <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${tones[tone]}`}>{children}</span>;
}

function TestResult({ result }: { result: S3Test }) {
  return (
    <div
      data-testid="s3-test-result"
      className={`rounded-lg border p-3 text-sm ${
        result.ok
          ? "border-emerald-200 bg-emerald-50 dark:border-emerald-900 dark:bg-emerald-950/30"
          : "border-red-200 bg-red-50 dark:border-red-900 dark:bg-red-950/30"
      }`}
    >
      <p className={`font-medium ${result.ok ? "text-emerald-800 dark:text-emerald-300" : "text-red-800 dark:text-red-300"}`}>
        {result.ok ? "All checks passed" : "Access test failed"} <span className="font-normal text-zinc-500 dark:text-zinc-400">({result.latencyMs} ms)</span>
      </p>
      <ul className="mt-2 space-y-1">
        {result.checks.map((check) => (
          <li key={check.name} className="flex flex-wrap items-baseline gap-x-2" data-testid="s3-check">
            <span
              aria-hidden="true"
              className={
                check.status === "ok"
                  ? "text-emerald-700 dark:text-emerald-400"
                  : check.status === "failed"
                    ? "text-red-700 dark:text-red-400"
                    : "text-zinc-400"
              }
            >
              {check.status === "ok" ? "✓" : check.status === "failed" ? "✗" : "–"}
            </span>
            <span>{CHECK_LABEL[check.name] ?? check.name}</span>
            <span className="text-xs text-zinc-500 dark:text-zinc-400">{check.status}</span>
            {check.status === "failed" && (
              <span className="w-full pl-5 text-xs text-red-700 dark:text-red-400">
                {check.errorCode ? `${check.errorCode}: ` : ""}
                {check.message ?? ""}
              </span>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function ImportSummary({ result }: { result: ImportResult }) {
  return (
    <div data-testid="s3-import-result" className="rounded-lg border border-zinc-200 p-3 text-sm dark:border-zinc-800">
      <p className="font-medium">
        Import from {result.source}: {formatNumber(result.manifestsFound)} manifests found
      </p>
      <p className="mt-1 text-zinc-600 dark:text-zinc-400">
        {formatNumber(result.imported)} imported · {formatNumber(result.merged)} merged · {formatNumber(result.alreadyKnown)} already known
      </p>
      {result.createdDatabases.length > 0 && (
        <p className="mt-1 text-zinc-600 dark:text-zinc-400">
          Placeholder databases created (disabled, edit them to restore into): {result.createdDatabases.join(", ")}
        </p>
      )}
      {result.problems.length > 0 && (
        <details className="mt-2">
          <summary className="cursor-pointer text-amber-700 dark:text-amber-400">{result.problems.length} manifests could not be imported</summary>
          <ul className="mt-1 space-y-1 text-xs">
            {result.problems.map((problem) => (
              <li key={problem.location}>
                <span className="font-mono">{problem.location}</span>: {problem.error}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

function S3Card({ config, canManage }: { config: S3Config; canManage: boolean }) {
  const queryClient = useQueryClient();
  const refresh = () => void queryClient.invalidateQueries({ queryKey: queryKeys.s3Configs() });
  const test = useMutation({ mutationFn: () => api.testS3Config(config.id) });
  const buckets = useMutation({ mutationFn: () => api.s3Buckets(config.id) });
  const importing = useMutation({
    mutationFn: () => api.importS3(config.id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.backups() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.databases() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.stats() });
    },
  });
  const makeDefault = useMutation({
    mutationFn: () => api.updateS3Config(config.id, { isDefault: true }),
    onSuccess: () => {
      toast.success(`${config.name} is the default S3 configuration.`);
      refresh();
    },
  });
  const remove = useMutation({
    mutationFn: () => api.deleteS3Config(config.id),
    onSuccess: () => {
      toast.success(`S3 configuration ${config.name} deleted.`);
      refresh();
    },
    onError: (error) => toast.error(`Could not delete ${config.name}: ${error.message}`),
  });
  const where = `${config.bucket}${config.pathPrefix ? `/${config.pathPrefix.replace(/^\/+/, "")}` : ""}`;
  const actionError = makeDefault.error ?? remove.error;

  return (
    <li className="rounded-xl border border-zinc-200 bg-white p-4 shadow-sm dark:border-zinc-800 dark:bg-zinc-900" data-testid="s3-card">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <h2 className="flex flex-wrap items-center gap-2 font-semibold">
            <span className="truncate" title={config.name}>{config.name}</span>
            {config.isDefault && <Badge tone="orange">default</Badge>}
            {!config.enabled && <Badge>disabled</Badge>}
          </h2>
          <p className="mt-1 truncate font-mono text-sm text-zinc-600 dark:text-zinc-400" title={where}>
            s3://{where}
          </p>
          <p className="mt-1 flex flex-wrap gap-x-3 text-xs text-zinc-500 dark:text-zinc-400">
            <span>{config.endpoint ?? "AWS S3"}</span>
            <span>region {config.region}</span>
            <span>{config.addressingStyle === "auto" ? "auto addressing" : `${config.addressingStyle}-style`}</span>
            {config.storageClass && <span>{config.storageClass}</span>}
            {config.sse && <span>{SSE_LABEL[config.sse] ?? config.sse}</span>}
            <span>parts {formatBytes(config.partSizeBytes)} × {config.concurrency}</span>
            <span>checksums {config.checksumMode === "when_supported" ? "always" : "when required"}</span>
            <span>keys {config.hasAccessKeyId && config.hasSecretAccessKey ? "stored" : "missing"}</span>
          </p>
        </div>
        {canManage && (
          <div className="flex flex-wrap gap-2">
            <button type="button" className={BUTTON} disabled={test.isPending} onClick={() => test.mutate()} aria-label={`Test ${config.name}`}>
              {test.isPending ? "Testing…" : "Test"}
            </button>
            <button type="button" className={SECONDARY} disabled={buckets.isPending} onClick={() => buckets.mutate()} aria-label={`List buckets of ${config.name}`}>
              Buckets
            </button>
            <button
              type="button"
              className={SECONDARY}
              disabled={importing.isPending}
              aria-label={`Import backups from ${config.name}`}
              onClick={() => {
                if (window.confirm(`Rebuild backup records from the manifests in s3://${where}? Backups already known are left as they are.`)) importing.mutate();
              }}
            >
              {importing.isPending ? "Importing…" : "Import backups"}
            </button>
            {!config.isDefault && (
              <button type="button" className={SECONDARY} disabled={makeDefault.isPending || !config.enabled} onClick={() => makeDefault.mutate()} aria-label={`Make ${config.name} the default`}>
                Set default
              </button>
            )}
            <Link to={`/s3-configs/${encodeURIComponent(config.id)}/edit`} className={SECONDARY} aria-label={`Edit ${config.name}`}>
              Edit
            </Link>
            <button
              type="button"
              className={DANGER}
              disabled={remove.isPending}
              aria-label={`Delete ${config.name}`}
              onClick={() => {
                if (window.confirm(`Delete the S3 configuration "${config.name}"? Objects in the bucket stay.`)) remove.mutate();
              }}
            >
              Delete
            </button>
          </div>
        )}
      </div>
      <div aria-live="polite" className="mt-3 space-y-3 empty:hidden">
        {test.isError && <ErrorState error={test.error} />}
        {test.data && <TestResult result={test.data.data} />}
        {buckets.isError && <ErrorState error={buckets.error} />}
        {buckets.data && (
          <div data-testid="s3-buckets" className="text-sm">
            <p className="mb-1 font-medium">Buckets these keys can list ({buckets.data.data.buckets.length})</p>
            {buckets.data.data.buckets.length === 0 ? (
              <p className="text-zinc-500 dark:text-zinc-400">None.</p>
            ) : (
              <ul className="flex flex-wrap gap-1">
                {buckets.data.data.buckets.map((name) => (
                  <li key={name}>
                    <Badge tone={name === config.bucket ? "emerald" : "zinc"}>{name === config.bucket ? `${name} (configured)` : name}</Badge>
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        {importing.isError && <ErrorState error={importing.error} />}
        {importing.data && <ImportSummary result={importing.data.data} />}
        {actionError && <FormStatus error={actionError} />}
      </div>
    </li>
  );
}

export function S3Configs() {
  const me = useMe();
  const canManage = can(me.data?.data, "s3.manage");
  const configs = useS3Configs();
  return (
    <>
      <PageHeader
        title="S3 configurations"
        actions={
          canManage ? (
            <Link to="/s3-configs/new" className={BUTTON}>
              Add S3 configuration
            </Link>
          ) : null
        }
      />
      {me.data && !canManage && <ReadOnlyNote>Only admins can add, test or change S3 configurations.</ReadOnlyNote>}
      {configs.isPending ? (
        <Loading label="Loading S3 configurations…" />
      ) : configs.isError ? (
        <ErrorState error={configs.error} onRetry={() => void configs.refetch()} />
      ) : configs.data.data.length === 0 ? (
        <Empty>
          No S3 configuration: backups stay on local storage.{" "}
          {canManage && (
            <Link to="/s3-configs/new" className={LINK}>
              Add one
            </Link>
          )}
        </Empty>
      ) : (
        <ul className="space-y-4">
          {configs.data.data.map((config) => (
            <S3Card key={config.id} config={config} canManage={canManage} />
          ))}
        </ul>
      )}
    </>
  );
}

interface FormValues {
  name: string;
  endpoint: string;
  region: string;
  bucket: string;
  pathPrefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  addressingStyle: Addressing;
  storageClass: string;
  sse: "" | Sse;
  sseKmsKeyId: string;
  checksumMode: ChecksumMode;
  partSizeMiB: string;
  concurrency: string;
  enabled: boolean;
  isDefault: boolean;
}

function initialValues(config?: S3Config): FormValues {
  return {
    name: config?.name ?? "",
    endpoint: config?.endpoint ?? "",
    region: config?.region ?? "us-east-1",
    bucket: config?.bucket ?? "",
    pathPrefix: config?.pathPrefix ?? "",
    accessKeyId: "",
    secretAccessKey: "",
    addressingStyle: config?.addressingStyle ?? "auto",
    storageClass: config?.storageClass ?? "",
    sse: config?.sse ?? "",
    sseKmsKeyId: config?.sseKmsKeyId ?? "",
    checksumMode: config?.checksumMode ?? "when_required",
    partSizeMiB: String((config?.partSizeBytes ?? 16 * MiB) / MiB),
    concurrency: String(config?.concurrency ?? 4),
    enabled: config?.enabled ?? true,
    isDefault: config?.isDefault ?? false,
  };
}

function toInput(values: FormValues, editing: boolean): S3ConfigInput {
  const input: S3ConfigInput = {
    name: values.name.trim(),
    endpoint: values.endpoint.trim() || null,
    region: values.region.trim() || "us-east-1",
    bucket: values.bucket.trim(),
    pathPrefix: values.pathPrefix.trim(),
    addressingStyle: values.addressingStyle,
    storageClass: values.storageClass.trim() || null,
    sse: values.sse || null,
    sseKmsKeyId: values.sse === "aws:kms" ? values.sseKmsKeyId.trim() || null : null,
    checksumMode: values.checksumMode,
    partSizeBytes: Math.round(Number(values.partSizeMiB) * MiB),
    concurrency: Number(values.concurrency),
    enabled: values.enabled,
    isDefault: values.isDefault,
  };
  // Keys are write-only: on edit, a blank field keeps the stored key.
  if (!editing || values.accessKeyId !== "") input.accessKeyId = values.accessKeyId;
  if (!editing || values.secretAccessKey !== "") input.secretAccessKey = values.secretAccessKey;
  return input;
}

function S3FormBody({ config }: { config?: S3Config }) {
  const queryClient = useQueryClient();
  const me = useMe();
  const canManage = can(me.data?.data, "s3.manage");
  const [values, setValues] = useState<FormValues>(() => initialValues(config));
  const editing = config !== undefined;
  const save = useMutation({
    mutationFn: () => (config ? api.updateS3Config(config.id, toInput(values, true)) : api.createS3Config(toInput(values, false))),
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.s3Configs() });
      toast.success(`S3 configuration ${saved.data.name} ${config ? "saved" : "added"}.`);
      navigate("/s3-configs");
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
  const keyHint = editing ? "Stored and never shown. Leave blank to keep it." : undefined;

  return (
    <>
      <PageHeader title={editing ? "Edit S3 configuration" : "Add S3 configuration"} />
      {me.data && !canManage && <ReadOnlyNote>Only admins can add or change S3 configurations.</ReadOnlyNote>}
      <Panel>
        <form onSubmit={submit} className="space-y-6" noValidate autoComplete="off">
          <fieldset disabled={!canManage} className="space-y-6">
            <div className="grid gap-4 sm:grid-cols-2">
              <Field id="s3-name" label="Name" error={errors.name}>
                <input id="s3-name" className={INPUT} required maxLength={100} value={values.name} onChange={(e) => set("name", e.target.value)} />
              </Field>
              <Field id="s3-endpoint" label="Endpoint URL" error={errors.endpoint ?? errors.endpointUrl} hint="Blank for AWS S3; e.g. https://minio.example.com for MinIO, R2, B2…">
                <input id="s3-endpoint" className={INPUT} type="url" maxLength={1024} placeholder="https://…" value={values.endpoint} onChange={(e) => set("endpoint", e.target.value)} />
              </Field>
              <Field id="s3-bucket" label="Bucket" error={errors.bucket}>
                <input id="s3-bucket" className={INPUT} required maxLength={255} value={values.bucket} onChange={(e) => set("bucket", e.target.value)} />
              </Field>
              <Field id="s3-region" label="Region" error={errors.region}>
                <input id="s3-region" className={INPUT} maxLength={64} value={values.region} onChange={(e) => set("region", e.target.value)} />
              </Field>
              <Field id="s3-prefix" label="Path prefix" error={errors.pathPrefix} hint="Objects go to prefix/database/yyyy/mm/file.">
                <input id="s3-prefix" className={INPUT} maxLength={512} placeholder="backups" value={values.pathPrefix} onChange={(e) => set("pathPrefix", e.target.value)} />
              </Field>
              <Field id="s3-addressing" label="Addressing style" error={errors.addressingStyle} hint="Path-style suits MinIO and most self-hosted endpoints.">
                <select id="s3-addressing" className={INPUT} value={values.addressingStyle} onChange={(e) => set("addressingStyle", e.target.value as Addressing)}>
                  <option value="auto">Automatic</option>
                  <option value="path">Path-style (endpoint/bucket/key)</option>
                  <option value="virtual">Virtual-hosted (bucket.endpoint/key)</option>
                </select>
              </Field>
            </div>

            <fieldset className="grid gap-4 sm:grid-cols-2">
              <legend className="mb-2 text-sm font-semibold text-zinc-600 dark:text-zinc-300">Credentials</legend>
              <Field id="s3-access-key" label="Access key ID" error={errors.accessKeyId} hint={keyHint}>
                <input
                  id="s3-access-key"
                  className={INPUT}
                  type="password"
                  autoComplete="new-password"
                  spellCheck={false}
                  required={!editing}
                  maxLength={1024}
                  placeholder={editing && config?.hasAccessKeyId ? "•••••••• (unchanged)" : ""}
                  value={values.accessKeyId}
                  onChange={(e) => set("accessKeyId", e.target.value)}
                />
              </Field>
              <Field id="s3-secret-key" label="Secret access key" error={errors.secretAccessKey} hint={keyHint}>
                <input
                  id="s3-secret-key"
                  className={INPUT}
                  type="password"
                  autoComplete="new-password"
                  spellCheck={false}
                  required={!editing}
                  maxLength={1024}
                  placeholder={editing && config?.hasSecretAccessKey ? "•••••••• (unchanged)" : ""}
                  value={values.secretAccessKey}
                  onChange={(e) => set("secretAccessKey", e.target.value)}
                />
              </Field>
            </fieldset>

            <fieldset className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
              <legend className="mb-2 text-sm font-semibold text-zinc-600 dark:text-zinc-300">Uploads</legend>
              <Field id="s3-storage-class" label="Storage class" error={errors.storageClass} hint="Blank uses the bucket's default.">
                <input id="s3-storage-class" className={INPUT} list="s3-storage-classes" maxLength={32} placeholder="STANDARD" value={values.storageClass} onChange={(e) => set("storageClass", e.target.value.toUpperCase())} />
                <datalist id="s3-storage-classes">
                  {STORAGE_CLASSES.map((name) => (
                    <option key={name} value={name} />
                  ))}
                </datalist>
              </Field>
              <Field id="s3-sse" label="Server-side encryption" error={errors.sse}>
                <select id="s3-sse" className={INPUT} value={values.sse} onChange={(e) => set("sse", e.target.value as FormValues["sse"])}>
                  <option value="">None (bucket default)</option>
                  <option value="AES256">SSE-S3 (AES256)</option>
                  <option value="aws:kms">SSE-KMS</option>
                </select>
              </Field>
              {values.sse === "aws:kms" && (
                <Field id="s3-kms-key" label="KMS key ID (optional)" error={errors.sseKmsKeyId}>
                  <input id="s3-kms-key" className={INPUT} maxLength={2048} value={values.sseKmsKeyId} onChange={(e) => set("sseKmsKeyId", e.target.value)} />
                </Field>
              )}
              <Field id="s3-checksum" label="Checksums" error={errors.checksumMode} hint="Some S3-compatible stores reject the newer checksum headers.">
                <select id="s3-checksum" className={INPUT} value={values.checksumMode} onChange={(e) => set("checksumMode", e.target.value as ChecksumMode)}>
                  <option value="when_required">When required (most compatible)</option>
                  <option value="when_supported">Always (when supported)</option>
                </select>
              </Field>
              <Field id="s3-part-size" label="Part size (MiB)" error={errors.partSizeBytes} hint="5–5120 MiB per multipart part.">
                <input id="s3-part-size" className={INPUT} type="number" min={5} max={5120} inputMode="numeric" value={values.partSizeMiB} onChange={(e) => set("partSizeMiB", e.target.value)} />
              </Field>
              <Field id="s3-concurrency" label="Parallel parts" error={errors.concurrency} hint="1–64 parts in flight.">
                <input id="s3-concurrency" className={INPUT} type="number" min={1} max={64} inputMode="numeric" value={values.concurrency} onChange={(e) => set("concurrency", e.target.value)} />
              </Field>
            </fieldset>

            <div className="space-y-2">
              <label className="flex items-center gap-2 text-sm">
                <input type="checkbox" className={CHECKBOX} checked={values.enabled} onChange={(e) => set("enabled", e.target.checked)} />
                Enabled
              </label>
              <label className="flex items-center gap-2 text-sm">
                <input type="checkbox" className={CHECKBOX} checked={values.isDefault} onChange={(e) => set("isDefault", e.target.checked)} />
                Default configuration (backups that ask for S3 without naming one go here)
              </label>
            </div>
          </fieldset>

          {generalError && <FormStatus error={generalError} />}
          <div className="flex gap-2">
            <Link to="/s3-configs" className={SECONDARY}>
              Cancel
            </Link>
            {canManage && (
              <button type="submit" className={BUTTON} disabled={save.isPending}>
                {save.isPending ? "Saving…" : "Save configuration"}
              </button>
            )}
          </div>
        </form>
      </Panel>
    </>
  );
}

export function S3ConfigForm({ configId }: { configId?: string }) {
  return (
    <EditLoader
      id={configId}
      queryKey="s3-config"
      load={api.s3Config}
      what="S3 configuration"
      render={(item) => <S3FormBody config={item} />}
    />
  );
}
