// First-run setup wizard: its progress is the `setup_wizard` system setting (server-side, so it
// is shown once per install, not once per browser): a step name while under way, then "done"
// or "dismissed".

import { useQuery } from "@tanstack/react-query";

import { client, unwrap, type Schemas } from "./api/client.ts";
import { queryKeys } from "./queryKeys.ts";

export const WIZARD_SETTING = "setup_wizard";
export const WIZARD_STEPS = ["database", "s3", "schedule", "backup"] as const;
export type WizardStep = (typeof WIZARD_STEPS)[number];
export type WizardState = WizardStep | "done" | "dismissed" | null;

export const wizardApi = {
  settings: () => unwrap(client.GET("/api/system/settings")),
  saveState: (state: WizardStep | "done" | "dismissed") => unwrap(client.PUT("/api/system/settings", { body: { [WIZARD_SETTING]: state } })),
  databases: () => unwrap(client.GET("/api/databases")),
  createDatabase: (body: Schemas["DatabaseCreate"]) => unwrap(client.POST("/api/databases", { body })),
  testDatabase: (id: string) => unwrap(client.POST("/api/databases/{config_id}/test-connection", { params: { path: { config_id: id } } })),
  s3Configs: () => unwrap(client.GET("/api/s3-configs")),
  createS3: (body: Schemas["S3ConfigCreate"]) => unwrap(client.POST("/api/s3-configs", { body })),
  testS3: (id: string) => unwrap(client.POST("/api/s3-configs/{config_id}/test", { params: { path: { config_id: id } } })),
  schedules: () => unwrap(client.GET("/api/schedules")),
  createSchedule: (body: Schemas["ScheduleCreate"]) => unwrap(client.POST("/api/schedules", { body })),
  startBackup: (body: Schemas["BackupCreate"]) => unwrap(client.POST("/api/backups", { body })),
  backup: (id: string) => unwrap(client.GET("/api/backups/{backup_id}", { params: { path: { backup_id: id } } })),
};

/** The wizard's stored state (null: never started). */
export function wizardState(settings: Schemas["SettingOut"][] | undefined): WizardState {
  const value = settings?.find((setting) => setting.key === WIZARD_SETTING)?.value;
  if (value === "done" || value === "dismissed") return value;
  return (WIZARD_STEPS as readonly unknown[]).includes(value) ? (value as WizardStep) : null;
}

/** Settings and databases, for deciding whether to offer the wizard (admins only). */
export function useWizardFacts(enabled: boolean) {
  const settings = useQuery({ queryKey: queryKeys.settings(), queryFn: wizardApi.settings, enabled });
  const databases = useQuery({ queryKey: queryKeys.databases(), queryFn: wizardApi.databases, enabled });
  return { settings, databases };
}
