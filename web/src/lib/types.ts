// Shapes of the REST API (SPEC §6), as aliases of the types generated from the API's OpenAPI
// schema (./api/schema.d.ts, `just gen-api`); field names are the camelCase names on the wire.

import type { Schemas } from "./api/client.ts";

export type { Meta } from "./api/client.ts";

/** An error envelope's `error`. */
export type ApiErrorBody = Schemas["ErrorEnvelope"]["error"];

/** Either envelope, as read by the hand-written `request()` (generated calls are typed per path). */
export interface Envelope<T> {
  success: boolean;
  data?: T;
  error?: ApiErrorBody;
  meta?: Schemas["Meta"];
}

export type DatabaseConfig = Schemas["DatabaseOut"];
export type DatabaseType = DatabaseConfig["type"];

export type Backup = Schemas["BackupOut"];
export type BackupStatus = Backup["status"];

/** `GET /api/system/stats`. */
export type SystemStats = Schemas["StatsOut"];

/** `POST /api/databases/:id/test-connection`. */
export type ConnectionTest = Schemas["ConnectionTestOut"];
