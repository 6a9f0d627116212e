// Verification restores: a backup restored into a scratch database and its row counts and schema
// objects compared with the ones recorded at backup time.
// Field names are the camelCase names on the wire; see services/api/.../domain/verifications/.

import { client, unwrap, type Schemas } from "./api/client.ts";

export type Verification = Schemas["VerificationOut"];
export type VerificationDetail = Schemas["VerificationDetailOut"];
export type VerificationStatus = NonNullable<Schemas["BackupOut"]["verificationStatus"]>;
export type VerifyEvery = NonNullable<Schemas["ScheduleOut"]["verifyEvery"]>;

export const VERIFY_EVERY: { value: VerifyEvery; label: string }[] = [
  { value: "none", label: "Never" },
  { value: "each", label: "After every backup" },
  { value: "daily", label: "At most daily" },
  { value: "weekly", label: "At most weekly" },
];

export const verificationKeys = {
  one: (id: string | null | undefined) => ["verification", id] as const,
};

export const verifications = {
  start: (backupId: string) =>
    unwrap(client.POST("/api/backups/{backup_id}/verify", { params: { path: { backup_id: backupId } } })),
  cancel: (id: string) =>
    unwrap(client.POST("/api/verifications/{verification_id}/cancel", { params: { path: { verification_id: id } } })),
  get: (id: string) =>
    unwrap(client.GET("/api/verifications/{verification_id}", { params: { path: { verification_id: id } } })),
};

/** Make verifications of a database's backups restore on another configuration's server (null: its own). */
export const setVerificationTarget = (databaseId: string, verificationDatabaseId: string | null) =>
  unwrap(
    client.PUT("/api/databases/{config_id}/verification-target", {
      params: { path: { config_id: databaseId } },
      body: { verificationDatabaseId },
    }),
  );
