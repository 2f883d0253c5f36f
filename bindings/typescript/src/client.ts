// A minimal TypeScript binding of the Export API: the generated types
// (export-api.d.ts, from ../../openapi.yaml by openapi-typescript) and calls
// through openapi-fetch, plus the few lines each trap of the API needs.
// BINDINGS.md names the traps and the scenarios that prove each.

import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./export-api.d.ts";
import { checkBlobLink, type DownloadedFile, downloadFile, type DownloadOptions, type StorageFile } from "./download.ts";
import { apiError, type Connection, ExportError, type Run } from "./errors.ts";

/** Every state the contract lists (components.schemas.execution-state). */
const runStates: ReadonlySet<string> = new Set<components["schemas"]["execution-state"]>([
  "NotStarted", "Idle", "WaitingToExecute", "WaitingToRetry", "Executing", "Finalizing", "Completed", "Queued",
]);

export { ExportError, type Connection, type ErrorKind, type Run } from "./errors.ts";
export type { DownloadedFile, DownloadOptions, StorageFile } from "./download.ts";

export type RunCreate = components["schemas"]["export-connection-run-create"];

/** The media type the API recommends; sent on every request. */
export const ACCEPT = "application/vnd.bentley.itwin-platform.v1+json";
/** The media type a file download asks for. */
export const ACCEPT_FILE = "application/vnd.bentley.itwin-platform.v1+octet-stream";

/** Bounds of the client's retries and waits. */
export interface RetryPolicy {
  /** How many times one call sends its request at most, the first included. */
  maxAttempts: number;
  /** Backoff bounds when the answer names no Retry-After. */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** A longer Retry-After is not slept on: the call fails at once, carrying it. */
  maxRetryAfterSeconds: number;
}

export interface ClientOptions {
  /** The API's base URL, for example https://api.bentley.com/export. */
  baseUrl: string;
  /**
   * The Storage API's base URL, for downloads; by default baseUrl with its
   * final /export replaced by /storage. It must be on baseUrl's origin: the
   * token goes there.
   */
  storageUrl?: string;
  /** The bearer token, or a function returning one per request. */
  token: string | (() => Promise<string>);
  retry?: Partial<RetryPolicy>;
  /** The fetch to use (default globalThis.fetch). */
  fetch?: (request: Request) => Promise<Response>;
}

/** A run, named by its absolute Location URL: enough to find it again later. */
export interface RunRef {
  location: string;
  connectionId: string;
  runId: string;
  /** True when the API answered 303: a run was already active for the iModel. */
  existing: boolean;
}

export interface WaitOptions {
  minIntervalMs?: number;
  maxIntervalMs?: number;
  signal?: AbortSignal;
}

/** Which answers of an operation are retried. */
type RetryRule = "idempotent" | "create";

const retriedStatuses: Record<RetryRule, number[]> = {
  // GETs: rate limit and gateway failures (and broken connections).
  idempotent: [429, 502, 503, 504],
  // Create: 409 (resolves to a 303) and 429 only. After a 5xx or a broken
  // connection the run may exist: the error goes to the caller.
  create: [409, 429],
};

/** The answer of one openapi-fetch call. */
interface Answer {
  data?: unknown;
  error?: unknown;
  response: Response;
}

export class ExportClient {
  readonly baseUrl: string;
  private readonly base: URL;
  private readonly retry: RetryPolicy;
  private readonly api: Client<paths>;
  private readonly storage: Client<paths>;
  private readonly fetchImpl: (request: Request) => Promise<Response>;

  constructor(opts: ClientOptions) {
    this.base = new URL(opts.baseUrl.replace(/\/+$/, ""));
    if (this.base.protocol !== "https:" && !isLoopback(this.base.hostname)) {
      throw new Error("baseUrl must be https (plain http only to a loopback address)");
    }
    this.baseUrl = this.base.href;
    this.retry = { maxAttempts: 5, minBackoffMs: 500, maxBackoffMs: 30_000, maxRetryAfterSeconds: 120, ...opts.retry };
    const storageUrl = new URL(opts.storageUrl ?? this.baseUrl.replace(/\/export$/, "/storage"));
    if (storageUrl.origin !== this.base.origin) throw new Error("storageUrl must be on baseUrl's origin, where the token may go");
    this.fetchImpl = opts.fetch ?? ((r: Request) => globalThis.fetch(r));
    this.api = apiClient(this.baseUrl, opts);
    this.storage = apiClient(storageUrl.href.replace(/\/+$/, ""), opts);
  }

  /**
   * Starts an export. 202: a new run; 303: the run already active for the
   * iModel (existing). 409 and 429 are retried; a 5xx or broken connection is
   * not (the run may exist), so it reaches the caller.
   */
  async createRun(connectionId: string, body: RunCreate, signal?: AbortSignal): Promise<RunRef> {
    const op = "createExportConnectionRun";
    const { response } = await this.send(op, "create", signal, () =>
      this.api.POST("/connections/{connectionId}/runs", { params: { path: { connectionId } }, body, signal }),
    );
    if (response.status !== 202 && response.status !== 303) throw unexpected(op, response);
    const ref = this.runRef(response.headers.get("Location"), this.runsUrl(connectionId));
    return { ...ref, existing: response.status === 303 };
  }

  /** Gets the run a Location names; a Location outside the API's origin is refused before any request. */
  async getRun(location: string, signal?: AbortSignal): Promise<Run> {
    const op = "getExportConnectionRun";
    const ref = this.runRef(location, this.baseUrl);
    const { data, response } = await this.send(op, "idempotent", signal, () =>
      this.api.GET("/connections/{connectionId}/runs/{runId}", {
        params: { path: { connectionId: ref.connectionId, runId: ref.runId } },
        signal,
      }),
    );
    if (response.status !== 200) throw unexpected(op, response);
    const run = (data as { run?: Run } | undefined)?.run;
    if (typeof run !== "object" || run === null || typeof run.state !== "string") {
      throw new ExportError("malformed", `${op}: the body has no run with a state`, { status: response.status });
    }
    // The contract lists every state of this version: one it does not list
    // cannot say whether the run has ended, so it is reported, not waited on;
    // likewise a Completed run without a result.
    if (!runStates.has(run.state)) {
      throw new ExportError("malformed", `${op}: state ${JSON.stringify(run.state)} is not one the contract lists`, { status: response.status });
    }
    if (run.state === "Completed" && typeof run.result !== "string") {
      throw new ExportError("malformed", `${op}: a Completed run without a result`, { status: response.status });
    }
    return run;
  }

  /** Polls the run until Completed; a result other than Success is a runFailed error carrying the run. */
  async waitRun(location: string, opts: WaitOptions = {}): Promise<Run> {
    const min = opts.minIntervalMs ?? 2000;
    const max = Math.max(opts.maxIntervalMs ?? 30_000, min);
    let interval = min;
    let last: string | undefined;
    for (;;) {
      const run = await this.getRun(location, opts.signal);
      interval = run.state === last ? Math.min(interval * 2, max) : min;
      last = run.state;
      if (run.state === "Completed") {
        if (run.result === "Success") return run;
        throw new ExportError("runFailed", `run ${run.id} completed with result ${run.result}`, { run });
      }
      await sleep(interval, opts.signal);
    }
  }

  /** Creates a run and waits for it. */
  async export(connectionId: string, body: RunCreate, opts: WaitOptions = {}): Promise<{ ref: RunRef; run: Run }> {
    const ref = await this.createRun(connectionId, body, opts.signal);
    return { ref, run: await this.waitRun(ref.location, opts) };
  }

  /** Lists a connection's runs, following _links.next across pages. */
  async *listRuns(connectionId: string, signal?: AbortSignal): AsyncGenerator<Run> {
    const first = new URL(this.runsUrl(connectionId));
    yield* this.list<Run>("getExportConnectionRuns", first, "runs", signal, (query) =>
      this.api.GET("/connections/{connectionId}/runs", { params: { path: { connectionId }, query }, signal }),
    );
  }

  /** Lists an iModel's export connections, following _links.next across pages. */
  async *listConnections(iModelId: string, signal?: AbortSignal): AsyncGenerator<Connection> {
    const first = new URL(`${this.baseUrl}/connections?imodelId=${encodeURIComponent(iModelId)}`);
    yield* this.list<Connection>("getExportConnections", first, "connections", signal, (query) =>
      this.api.GET("/connections", { params: { query: { ...query, imodelId: iModelId } }, signal }),
    );
  }

  /** Gets a Storage file's metadata: its name and size. */
  async getFile(fileId: string, signal?: AbortSignal): Promise<StorageFile> {
    const op = "getFile";
    const { data, response } = await this.send(op, "idempotent", signal, () =>
      this.storage.GET("/files/{fileId}", { params: { path: { fileId } }, signal }),
    );
    if (response.status !== 200) throw unexpected(op, response);
    const file = (data as { file?: StorageFile } | undefined)?.file;
    if (typeof file !== "object" || file === null || typeof file.size !== "number") {
      throw new ExportError("malformed", `${op}: the body has no file with a size`, { status: 200 });
    }
    return file;
  }

  /**
   * Downloads a Storage file to path (see download.ts): written beside it and
   * renamed only when complete and of the metadata's size.
   */
  downloadFile(fileId: string, path: string, opts: DownloadOptions = {}): Promise<DownloadedFile> {
    return downloadFile(
      {
        getFile: (id, signal) => this.getFile(id, signal),
        downloadLink: (id, signal) => this.downloadLink(id, signal),
        backoff: (attempt, signal) => sleep(this.backoff(attempt), signal),
        fetch: this.fetchImpl,
      },
      fileId,
      path,
      opts,
    );
  }

  /** The blob link of a file: the Location of the download operation's 302, which is not followed. */
  private async downloadLink(fileId: string, signal?: AbortSignal): Promise<URL> {
    const op = "downloadFile";
    const { response } = await this.send(op, "idempotent", signal, () =>
      this.storage.GET("/files/{fileId}/download", { params: { path: { fileId } }, headers: { Accept: ACCEPT_FILE }, signal }),
    );
    if (response.status !== 302) throw unexpected(op, response);
    return checkBlobLink(response.headers.get("Location"), response.url);
  }

  /**
   * Yields the items of each page. A next link is resolved against the page's
   * URL and must stay on the API's origin and on the collection's path; its
   * $top and $skip are passed on through the typed call.
   */
  private async *list<T>(
    op: string,
    first: URL,
    member: string,
    signal: AbortSignal | undefined,
    call: (query: { $top?: number; $skip?: number }) => Promise<Answer>,
  ): AsyncGenerator<T> {
    const seen = new Set<string>();
    for (let url: URL | undefined = first; url !== undefined; ) {
      if (seen.has(url.href)) throw new ExportError("malformed", `${op}: _links.next repeats a page`);
      seen.add(url.href);
      const query = pageQuery(url);
      const { data, response } = await this.send(op, "idempotent", signal, () => call(query));
      if (response.status !== 200) throw unexpected(op, response);
      const page = data as Record<string, unknown> | undefined;
      const items = page?.[member];
      if (!Array.isArray(items)) throw new ExportError("malformed", `${op}: no "${member}" array`, { status: 200 });
      yield* items as T[];
      const next = (page?._links as { next?: { href?: string } } | undefined)?.next?.href;
      url = next === undefined ? undefined : this.checked(next, url.href, first.pathname);
    }
  }

  /**
   * Sends one call with the retry rule: statuses of the rule are retried after
   * Retry-After (at most maxRetryAfterSeconds, else the error returns at once)
   * or a jittered backoff; broken connections are retried only for GETs.
   * Answers of 400 or more become ExportErrors; anything else is returned.
   */
  private async send(op: string, rule: RetryRule, signal: AbortSignal | undefined, call: () => Promise<Answer>): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      let answer: Answer;
      try {
        answer = await call();
      } catch (err) {
        if (err instanceof ExportError) {
          if (err.kind !== "transport" || rule !== "idempotent" || attempt >= this.retry.maxAttempts) throw err;
          await sleep(this.backoff(attempt), signal);
          continue;
        }
        if (err instanceof SyntaxError) throw new ExportError("malformed", `${op}: the body is not JSON`, { cause: err });
        throw err;
      }
      const { response } = answer;
      if (!retriedStatuses[rule].includes(response.status)) {
        if (response.status >= 400) throw apiError(op, response, answer.error);
        return answer;
      }
      const error = apiError(op, response, answer.error);
      const wait = error.retryAfterSeconds;
      if (wait !== undefined && wait > this.retry.maxRetryAfterSeconds) throw error;
      if (attempt >= this.retry.maxAttempts) throw error;
      await sleep(wait !== undefined ? wait * 1000 : this.backoff(attempt), signal);
    }
  }

  /** Exponential backoff with equal jitter, within the policy's bounds. */
  private backoff(attempt: number): number {
    const d = Math.min(this.retry.minBackoffMs * 2 ** (attempt - 1), this.retry.maxBackoffMs);
    return d / 2 + Math.random() * (d / 2);
  }

  private runsUrl(connectionId: string): string {
    return `${this.baseUrl}/connections/${encodeURIComponent(connectionId)}/runs`;
  }

  /**
   * Trap: a Location may be relative. Resolve it against the URL of the
   * request that returned it (RFC 3986), then check it: on the API's origin,
   * under its base path, naming /connections/{id}/runs/{runId}.
   */
  private runRef(location: string | null, requestUrl: string): RunRef {
    if (location === null || location.trim() === "") {
      throw new ExportError("missingLocation", "the answer has no Location");
    }
    const url = this.checked(location, requestUrl, `${this.base.pathname}/`);
    const m = /\/connections\/([^/]+)\/runs\/([^/]+)$/.exec(url.pathname);
    if (m === null || url.search !== "" || url.hash !== "") {
      throw new ExportError("missingLocation", `Location ${url.href} does not name a run`);
    }
    try {
      return { location: url.href, connectionId: decodeURIComponent(m[1]), runId: decodeURIComponent(m[2]), existing: false };
    } catch {
      throw new ExportError("missingLocation", `Location ${url.href} has a malformed id`);
    }
  }

  /** Resolves ref against base and refuses it outside the API's origin or the given path prefix. */
  private checked(ref: string, base: string, pathPrefix: string): URL {
    let url: URL;
    try {
      url = new URL(ref, base);
    } catch {
      throw new ExportError("missingLocation", `${JSON.stringify(ref)} is not a URL`);
    }
    if (url.origin !== this.base.origin || url.username !== "" || url.password !== "") {
      throw new ExportError("foreignLocation", `${url.origin} is not the API's origin; refused before any request`);
    }
    if (!url.pathname.startsWith(pathPrefix) && url.pathname !== pathPrefix.replace(/\/$/, "")) {
      throw new ExportError("foreignLocation", `${url.pathname} is not under ${pathPrefix}`);
    }
    return url;
  }
}

/**
 * An openapi-fetch client of the API at baseUrl. Trap: fetch follows a 303
 * (or 302) by default, losing the answer that says a run already exists (or
 * carrying the token towards a blob link); redirects are never followed.
 * Trap: the token goes only to the API's own origin.
 */
function apiClient(baseUrl: string, opts: ClientOptions): Client<paths> {
  const fetchImpl = opts.fetch ?? ((r: Request) => globalThis.fetch(r));
  const origin = new URL(baseUrl).origin;
  const client = createClient<paths>({
    baseUrl,
    redirect: "manual",
    headers: { Accept: ACCEPT },
    fetch: async (request: Request) => {
      try {
        return await fetchImpl(request);
      } catch (cause) {
        if (request.signal.aborted) throw cause;
        throw new ExportError("transport", `${request.method} ${request.url}: no answer`, { cause });
      }
    },
  });
  client.use({
    async onRequest({ request }) {
      if (new URL(request.url).origin === origin) {
        const token = typeof opts.token === "string" ? opts.token : await opts.token();
        request.headers.set("Authorization", `Bearer ${token}`);
      }
      return request;
    },
  });
  return client;
}

/** The $top and $skip of a page URL, for the typed call. */
function pageQuery(url: URL): { $top?: number; $skip?: number } {
  const query: { $top?: number; $skip?: number } = {};
  for (const key of ["$top", "$skip"] as const) {
    const v = url.searchParams.get(key);
    if (v !== null && /^\d+$/.test(v)) query[key] = Number(v);
  }
  return query;
}

/** The error of a status below 400 that the operation does not define. */
function unexpected(op: string, response: Response): ExportError {
  return new ExportError("unexpectedStatus", `${op}: status ${response.status} is not an answer it defines`, {
    status: response.status,
  });
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
