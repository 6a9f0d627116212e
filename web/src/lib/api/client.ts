// The typed fetch client: openapi-fetch over the paths of schema.d.ts (generated from the API's
// OpenAPI schema by `just gen-api`). Same-origin cookies, the CSRF header on state-changing
// requests, and the SPEC §6.2 envelope unwrapped into `{data, meta}` or thrown as an ApiError.

import createClient, { type Middleware } from "openapi-fetch";

import { navigate } from "../router.tsx";
import type { components, paths } from "./schema";

/** The API's component schemas by name (`Schemas["DatabaseOut"]`). */
export type Schemas = components["schemas"];
export type Meta = Schemas["Meta"];

/** An API failure: the envelope's error, or a transport problem. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  /** The envelope's `error.details` (often `[{field, message}]` for VALIDATION_ERROR). */
  readonly details: unknown;

  constructor(message: string, code: string, status: number, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** A successful envelope's payload and its meta (page, limit, total for lists). */
export interface Page<T> {
  data: T;
  meta: Meta;
}

/** The CSRF token the API put in the readable `lifeboat_csrf` cookie (double submit). */
export function csrfToken(): string {
  const match = document.cookie.split("; ").find((part) => part.startsWith("lifeboat_csrf="));
  return match ? decodeURIComponent(match.slice("lifeboat_csrf=".length)) : "";
}

const AUTH_PAGES = ["/login", "/setup"];

/** On 401, send the browser to first-run setup or to sign-in (remembering where it was). */
export function redirectForAuth(code: string): void {
  const here = window.location.pathname;
  if (AUTH_PAGES.includes(here)) return;
  if (code === "SETUP_REQUIRED") {
    navigate("/setup", { replace: true });
  } else {
    navigate(`/login?next=${encodeURIComponent(here + window.location.search)}`, { replace: true });
  }
}

/** fetch, with a failure to reach the API turned into an ApiError. */
async function networkFetch(request: Request): Promise<Response> {
  try {
    return await fetch(request);
  } catch {
    throw new ApiError("Cannot reach the Lifeboat API.", "NETWORK_ERROR", 0);
  }
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" && request.method !== "HEAD") {
      request.headers.set("X-CSRF-Token", csrfToken());
    }
    return request;
  },
};

/** The raw typed client: `client.GET("/api/databases/{config_id}", {params: {path: {...}}})`. */
export const client = createClient<paths>({
  baseUrl: "",
  credentials: "same-origin",
  headers: { Accept: "application/json" },
  fetch: networkFetch,
});
client.use(csrf);

interface ErrorBody {
  success?: boolean;
  error?: { code?: string; message?: string; details?: unknown };
}

/** The success envelope's payload of an openapi-fetch result, or an ApiError (`data` is
 * undefined for the `null` payload of a DELETE and the like). */
export async function unwrap<E extends { data?: unknown; meta: Meta }>(
  pending: Promise<{ data?: E; error?: unknown; response: Response }>,
): Promise<Page<E["data"]>> {
  let result: { data?: E; error?: unknown; response: Response };
  try {
    result = await pending;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError("The API's answer could not be read.", "HTTP_ERROR", 0);
  }
  const { data, error, response } = result;
  const failure = (typeof error === "object" && error !== null ? error : null) as ErrorBody | null;
  if (response.status === 401) redirectForAuth(failure?.error?.code ?? "UNAUTHORIZED");
  const body = data as (E & { success?: boolean }) | undefined;
  if (!response.ok || body === undefined || body.success !== true) {
    const message = failure?.error?.message ?? `Request failed (HTTP ${response.status}).`;
    throw new ApiError(message, failure?.error?.code ?? "HTTP_ERROR", response.status, failure?.error?.details);
  }
  return { data: body.data, meta: body.meta };
}
