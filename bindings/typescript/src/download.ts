// Downloading a Storage file: metadata, then the 302 to a blob URL (not
// followed automatically), then the blob fetched without any credential,
// resumed with Range after a cut, a fresh link after a 403, the size
// checked, and the file renamed into place only when complete.

import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { components } from "./export-api.d.ts";
import { ExportError, statusKind } from "./errors.ts";

export type StorageFile = components["schemas"]["storage-file"];

export interface DownloadOptions {
  /** How many times a cut transfer is resumed with Range (default 5). */
  maxResumes?: number;
  signal?: AbortSignal;
}

export interface DownloadedFile {
  fileId: string;
  path: string;
  size: number;
}

/** What a download needs of the client: its two Storage calls. */
export interface StorageCalls {
  /** GET {storage}/files/{id}: the file's metadata. */
  getFile(fileId: string, signal?: AbortSignal): Promise<StorageFile>;
  /** GET {storage}/files/{id}/download: the blob link of its 302, unfollowed. */
  downloadLink(fileId: string, signal?: AbortSignal): Promise<URL>;
  /** Waits after a cut or a busy blob store, with the client's backoff. */
  backoff(attempt: number, signal?: AbortSignal): Promise<void>;
  /** The client's fetch, for the blob request (which carries no credential). */
  fetch(request: Request): Promise<Response>;
}

/** Trap: the blob link leaves the API's origin; it must be https (plain http only to loopback). */
export function checkBlobLink(location: string | null, requestUrl: string): URL {
  if (location === null || location.trim() === "") throw new ExportError("missingLocation", "downloadFile: the 302 has no Location");
  let url: URL;
  try {
    url = new URL(location, requestUrl);
  } catch {
    throw new ExportError("missingLocation", "downloadFile: the Location is not a URL");
  }
  const loopback = url.hostname === "localhost" || url.hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new ExportError("insecureLink", `downloadFile: the link is not https (${url.origin})`);
  }
  return url;
}

/** Downloads a file to path: a temporary file beside it, renamed when complete and of the metadata's size. */
export async function downloadFile(calls: StorageCalls, fileId: string, path: string, opts: DownloadOptions = {}): Promise<DownloadedFile> {
  const meta = await calls.getFile(fileId, opts.signal);
  const size = meta.size;
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.part`);
  const out = await open(tmp, "w", 0o600);
  try {
    await transfer(calls, fileId, size, out, opts);
    await out.sync();
    await out.close();
    await rename(tmp, path);
    return { fileId, path, size };
  } catch (err) {
    await out.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
}

type Handle = Awaited<ReturnType<typeof open>>;

/** Fetches the blob into out, resuming after cuts and refreshing an expired link once. */
async function transfer(calls: StorageCalls, fileId: string, size: number, out: Handle, opts: DownloadOptions): Promise<void> {
  const maxResumes = opts.maxResumes ?? 5;
  let link = await calls.downloadLink(fileId, opts.signal);
  let done = 0;
  let resumes = 0;
  let refreshed = false;
  for (;;) {
    const outcome = await fetchOnce(calls, link, done, size, out, opts.signal);
    done = outcome.done;
    if (outcome.kind === "complete") {
      if (done !== size) throw new ExportError("malformed", `download of ${fileId}: ${done} bytes, the metadata says ${size}`);
      return;
    }
    if (outcome.kind === "expired" && !refreshed) {
      refreshed = true;
      link = await calls.downloadLink(fileId, opts.signal);
      continue;
    }
    if (outcome.kind === "cut" && resumes < maxResumes) {
      resumes++;
      if (resumes > 1) await calls.backoff(resumes - 1, opts.signal);
      continue;
    }
    throw outcome.error;
  }
}

type FetchOutcome =
  | { kind: "complete"; done: number }
  | { kind: "cut" | "expired" | "failed"; done: number; error: ExportError };

/**
 * One request for the blob, from byte done on. Trap: the request carries no
 * Authorization header and no other credential (the blob store refuses a
 * request with both a SAS and a bearer token, and the token stays home).
 */
async function fetchOnce(calls: StorageCalls, link: URL, done: number, size: number, out: Handle, signal?: AbortSignal): Promise<FetchOutcome> {
  const headers: Record<string, string> = done > 0 ? { Range: `bytes=${done}-` } : {};
  let res: Response;
  try {
    res = await calls.fetch(new Request(link, { headers, redirect: "manual", credentials: "omit", signal }));
  } catch (cause) {
    if (signal?.aborted) throw cause;
    return { kind: "cut", done, error: new ExportError("transport", "downloading: no answer from the blob store", { cause }) };
  }
  if (res.status === 200 && done > 0) done = 0; // the whole content again: start over
  if (res.status === 206 && res.headers.get("Content-Range") !== `bytes ${done}-${size - 1}/${size}`) {
    await res.body?.cancel();
    return { kind: "failed", done, error: new ExportError("malformed", `downloading: Content-Range ${res.headers.get("Content-Range")}`) };
  }
  if (res.status !== 200 && res.status !== 206) {
    await res.text().catch(() => "");
    const error = new ExportError(res.status < 400 ? "unexpectedStatus" : statusKind(res.status), `downloading: the blob store answered ${res.status}`, {
      status: res.status,
      code: res.headers.get("x-ms-error-code") ?? undefined,
    });
    if (res.status === 403) return { kind: "expired", done, error };
    if (res.status === 429 || res.status >= 500) return { kind: "cut", done, error };
    return { kind: "failed", done, error };
  }
  const reader = res.body?.getReader();
  try {
    for (;;) {
      const next = await reader?.read();
      if (next === undefined || next.done) break;
      const chunk = next.value;
      if (done + chunk.byteLength > size) {
        await reader?.cancel();
        return { kind: "failed", done, error: new ExportError("malformed", `downloading: more than the metadata's ${size} bytes`) };
      }
      await out.write(chunk, 0, chunk.byteLength, done);
      done += chunk.byteLength;
    }
  } catch (cause) {
    if (signal?.aborted) throw cause;
    return { kind: "cut", done, error: new ExportError("transport", `downloading: the transfer was cut after ${done} bytes`, { cause }) };
  }
  return { kind: "complete", done };
}
