// Error classes of the binding: one ExportError whose `kind` is the class,
// named as the conformance scenarios name them.

import type { components } from "./export-api.d.ts";

export type Run = components["schemas"]["export-run"];
export type Connection = components["schemas"]["export-connection"];
export type ApiErrorBody = components["schemas"]["ErrorResponse"];

/** The class of a failure; callers branch on it, never on message text. */
export type ErrorKind =
  | "unauthorized" // 401
  | "forbidden" // 403
  | "notFound" // 404
  | "conflict" // 409
  | "invalidRequest" // 400, 422
  | "rateLimited" // 429
  | "server" // 5xx
  | "apiError" // another status of 400 or more
  | "foreignLocation" // a Location or link outside the API's origin: refused before any request
  | "missingLocation" // a 202/303 without a usable Location
  | "malformed" // a success whose body is not the promised JSON
  | "unexpectedStatus" // a status below 400 the operation does not define
  | "runFailed" // the run completed with a result other than Success
  | "insecureLink" // a download link that is not https (plain http only to loopback)
  | "transport"; // no answer: the connection failed

/** A failed call: its class, and what the API said when it said anything. */
export class ExportError extends Error {
  readonly kind: ErrorKind;
  readonly status?: number;
  /** The API's error code and message, when the body was the API's error JSON. */
  readonly code?: string;
  /** The wait the API asked for (Retry-After), in seconds. */
  readonly retryAfterSeconds?: number;
  /** The run, for runFailed. */
  readonly run?: Run;

  constructor(
    kind: ErrorKind,
    message: string,
    extra: { status?: number; code?: string; retryAfterSeconds?: number; run?: Run; cause?: unknown } = {},
  ) {
    super(`${kind}: ${message}`, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "ExportError";
    this.kind = kind;
    this.status = extra.status;
    this.code = extra.code;
    this.retryAfterSeconds = extra.retryAfterSeconds;
    this.run = extra.run;
  }
}

/** The class of an error status (400 or more). */
export function statusKind(status: number): ErrorKind {
  switch (true) {
    case status === 401:
      return "unauthorized";
    case status === 403:
      return "forbidden";
    case status === 404:
      return "notFound";
    case status === 409:
      return "conflict";
    case status === 400 || status === 422:
      return "invalidRequest";
    case status === 429:
      return "rateLimited";
    case status >= 500:
      return "server";
    default:
      return "apiError";
  }
}

/**
 * The error of an answer of status 400 or more. The body may be the API's
 * error JSON, HTML from a gateway, or nothing: the status decides the class,
 * the body only adds the code when it has one.
 */
export function apiError(op: string, response: Response, body: unknown): ExportError {
  const error = (body as Partial<ApiErrorBody> | undefined)?.error;
  const code = typeof error?.code === "string" ? error.code : undefined;
  const message = typeof error?.message === "string" ? error.message : response.statusText;
  return new ExportError(statusKind(response.status), `${op}: ${response.status} ${code ?? ""} ${message}`.trim(), {
    status: response.status,
    code,
    retryAfterSeconds: parseRetryAfter(response.headers.get("Retry-After")),
  });
}

/** Retry-After in seconds: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
