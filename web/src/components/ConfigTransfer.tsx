// Settings → Configuration: export the install's configuration to a JSON file (secrets sealed
// under a passphrase, or left out) and import one (dry-run preview first, then all or nothing).

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";

import { client, unwrap, type Schemas } from "../lib/api/client.ts";
import { BUTTON, CHECKBOX, Field, FormStatus, INPUT, SECONDARY } from "./Form.tsx";

type SecretsMode = Schemas["ConfigExportIn"]["secrets"];
type ImportResult = Schemas["ConfigImportOut"];
type ConflictMode = NonNullable<Schemas["ConfigImportIn"]["onConflict"]>;

const MIN_PASSPHRASE = 12;

export const configTransfer = {
  exportConfig: (secrets: SecretsMode, passphrase?: string) =>
    unwrap(client.POST("/api/system/config/export", { body: { secrets, passphrase: passphrase || null } })),
  importConfig: (body: Schemas["ConfigImportIn"]) => unwrap(client.POST("/api/system/config/import", { body })),
};

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function ExportForm() {
  const id = useId();
  const [secrets, setSecrets] = useState<SecretsMode>("include");
  const [passphrase, setPassphrase] = useState("");
  const [again, setAgain] = useState("");
  const exporting = useMutation({
    mutationFn: () => configTransfer.exportConfig(secrets, secrets === "include" ? passphrase : undefined),
    onSuccess: (result) => {
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
      download(`lifeboat-config-${stamp}.json`, `${JSON.stringify(result.data, null, 2)}\n`);
      setPassphrase("");
      setAgain("");
    },
  });
  const short = secrets === "include" && passphrase.length < MIN_PASSPHRASE;
  const mismatch = secrets === "include" && again !== "" && again !== passphrase;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!short && !mismatch && (secrets === "omit" || again === passphrase)) exporting.mutate();
  };
  const done = exporting.data?.data;
  return (
    <form onSubmit={submit} className="space-y-3 text-sm" data-testid="config-export">
      <h3 className="font-medium">Export</h3>
      <p className="text-zinc-600 dark:text-zinc-400">
        Databases, S3 configurations, retention policies, schedules and settings as one JSON file. Users, API tokens and backup history are not part of
        it.
      </p>
      <fieldset className="space-y-2">
        <legend className="sr-only">Secrets</legend>
        <label className="flex items-start gap-2">
          <input type="radio" className={`${CHECKBOX} mt-0.5`} name={`${id}-secrets`} checked={secrets === "include"} onChange={() => setSecrets("include")} />
          <span>
            Include passwords and S3 keys, encrypted with a passphrase
            <span className="block text-xs text-zinc-500 dark:text-zinc-400">The import asks for the passphrase. Lifeboat does not keep it.</span>
          </span>
        </label>
        <label className="flex items-start gap-2">
          <input type="radio" className={`${CHECKBOX} mt-0.5`} name={`${id}-secrets`} checked={secrets === "omit"} onChange={() => setSecrets("omit")} />
          <span>
            Leave secrets out
            <span className="block text-xs text-zinc-500 dark:text-zinc-400">Imported databases and S3 configurations stay disabled until you enter them again.</span>
          </span>
        </label>
      </fieldset>
      {secrets === "include" && (
        <div className="grid gap-3 sm:grid-cols-2">
          <Field id={`${id}-pass`} label="Passphrase" hint={`At least ${MIN_PASSPHRASE} characters.`}>
            <input
              id={`${id}-pass`}
              className={INPUT}
              type="password"
              autoComplete="new-password"
              value={passphrase}
              onChange={(e) => setPassphrase(e.target.value)}
            />
          </Field>
          <Field id={`${id}-again`} label="Repeat passphrase" error={mismatch ? "The passphrases differ." : null}>
            <input id={`${id}-again`} className={INPUT} type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} />
          </Field>
        </div>
      )}
      <button type="submit" className={BUTTON} disabled={exporting.isPending || short || mismatch || (secrets === "include" && again !== passphrase)}>
        {exporting.isPending ? "Exporting…" : "Export configuration"}
      </button>
      <div aria-live="polite">
        {exporting.isError && <FormStatus error={exporting.error} />}
        {done && (
          <p className="text-emerald-700 dark:text-emerald-400" data-testid="config-export-done">
            Exported {done.databases?.length ?? 0} database(s), {done.s3Configs?.length ?? 0} S3 configuration(s), {done.retentionPolicies?.length ?? 0}{" "}
            retention policy(ies) and {done.schedules?.length ?? 0} schedule(s), secrets {done.secrets}.
          </p>
        )}
      </div>
    </form>
  );
}

const ACTION_TONE: Record<string, string> = {
  create: "text-emerald-700 dark:text-emerald-400",
  skip: "text-amber-700 dark:text-amber-400",
  set: "text-zinc-600 dark:text-zinc-400",
};
const KIND_LABEL: Record<string, string> = {
  database: "Database",
  s3Config: "S3",
  retentionPolicy: "Retention",
  schedule: "Schedule",
  setting: "Setting",
};

function ImportPlan({ result }: { result: ImportResult }) {
  return (
    <div className="rounded-lg border border-zinc-200 p-3 dark:border-zinc-800" data-testid="config-import-result">
      <p className="font-medium">
        {result.dryRun ? "Preview (nothing changed yet): " : "Imported: "}
        {result.created} to create, {result.skipped} skipped
      </p>
      <ul className="mt-2 max-h-72 space-y-1 overflow-auto text-xs">
        {result.items.map((item, index) => (
          <li key={`${item.kind}-${item.name}-${index}`} className="flex flex-wrap gap-x-2">
            <span className="w-20 shrink-0 text-zinc-500 dark:text-zinc-400">{KIND_LABEL[item.kind] ?? item.kind}</span>
            <span className="font-mono break-all">{item.name}</span>
            <span className={ACTION_TONE[item.action] ?? ""}>{item.action}</span>
            {item.needsSecret && <span className="text-amber-700 dark:text-amber-400">needs its password/keys</span>}
            {item.reason && <span className="text-zinc-500 dark:text-zinc-400">— {item.reason}</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}

function ImportForm() {
  const id = useId();
  const queryClient = useQueryClient();
  const [document, setDocument] = useState<Record<string, unknown> | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const [fileName, setFileName] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [onConflict, setOnConflict] = useState<ConflictMode>("fail");
  const run = useMutation({
    mutationFn: (dryRun: boolean) =>
      configTransfer.importConfig({ document: document ?? {}, passphrase: passphrase || null, onConflict, dryRun }),
    onSuccess: (result) => {
      if (!result.data.dryRun) {
        setPassphrase("");
        void queryClient.invalidateQueries();
      }
    },
  });
  const holdsSecrets = document?.["secrets"] === "included";
  const readFile = async (file: File | undefined) => {
    run.reset();
    setDocument(null);
    setFileError(null);
    setFileName(file?.name ?? "");
    if (!file) return;
    try {
      const parsed = JSON.parse(await file.text()) as unknown;
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      setDocument(parsed as Record<string, unknown>);
    } catch {
      setFileError("This file is not a JSON configuration export.");
    }
  };
  const result = run.data?.data;
  return (
    <div className="space-y-3 text-sm" data-testid="config-import">
      <h3 className="font-medium">Import</h3>
      <p className="text-zinc-600 dark:text-zinc-400">
        Adds what an export holds to this install in one step: everything or nothing. Preview it first.
      </p>
      <div className="grid gap-3 sm:grid-cols-2">
        <Field id={`${id}-file`} label="Configuration file" error={fileError}>
          <input
            id={`${id}-file`}
            type="file"
            accept="application/json,.json"
            className="block w-full text-sm file:mr-3 file:rounded-md file:border file:border-zinc-300 file:bg-white file:px-3 file:py-1.5 file:text-sm dark:file:border-zinc-700 dark:file:bg-zinc-900 dark:file:text-zinc-200"
            onChange={(e) => void readFile(e.target.files?.[0])}
          />
        </Field>
        <Field
          id={`${id}-pass`}
          label="Passphrase"
          hint={document ? (holdsSecrets ? "The passphrase the file was exported with." : "This file holds no secrets.") : "Needed when the file holds secrets."}
        >
          <input
            id={`${id}-pass`}
            className={INPUT}
            type="password"
            autoComplete="off"
            disabled={document !== null && !holdsSecrets}
            value={passphrase}
            onChange={(e) => setPassphrase(e.target.value)}
          />
        </Field>
      </div>
      <label className="flex items-center gap-2">
        <input type="checkbox" className={CHECKBOX} checked={onConflict === "skip"} onChange={(e) => setOnConflict(e.target.checked ? "skip" : "fail")} />
        Keep what already exists under the same name and import the rest
      </label>
      <div className="flex flex-wrap gap-2">
        <button type="button" className={SECONDARY} disabled={!document || run.isPending} onClick={() => run.mutate(true)}>
          {run.isPending && run.variables ? "Checking…" : "Preview import"}
        </button>
        <button
          type="button"
          className={BUTTON}
          disabled={!document || run.isPending || !result?.dryRun}
          title={result?.dryRun ? undefined : "Preview the import first"}
          onClick={() => {
            if (window.confirm(`Import ${fileName}? ${result?.created ?? 0} item(s) will be created.`)) run.mutate(false);
          }}
        >
          {run.isPending && !run.variables ? "Importing…" : "Import"}
        </button>
      </div>
      <div aria-live="polite" className="space-y-2">
        {run.isError && <FormStatus error={run.error} />}
        {result && <ImportPlan result={result} />}
      </div>
    </div>
  );
}

/** The "Configuration" section of the Settings page (admins). */
export function ConfigTransfer() {
  return (
    <div className="grid gap-6 lg:grid-cols-2">
      <ExportForm />
      <ImportForm />
    </div>
  );
}
