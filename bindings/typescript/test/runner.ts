// The TypeScript runner of the conformance scenarios (../../../conformance):
// start `itwin-export fake-server --control`, and for each scenario reset the
// fake, load its script, perform its operation with the binding, and compare
// the result class and the requests the fake received with the expectations.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ExportClient, ExportError, type RunCreate } from "../src/client.ts";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
export const TOKEN = "conformance-token";

export interface Scenario {
  name: string;
  description: string;
  client: {
    maxAttempts: number;
    maxRetryAfterSeconds: number;
    minBackoffMillis: number;
    maxBackoffMillis: number;
    pollMinMillis: number;
    pollMaxMillis: number;
    timeoutSeconds: number;
    maxResumes?: number;
  };
  script: unknown;
  operation: { name: string; connectionId?: string; iModelId?: string; location?: string; request?: RunCreate; fileId?: string };
  expect: {
    result: string;
    location?: string;
    runId?: string;
    runResult?: string;
    items?: number;
    retryAfterSeconds?: number;
    sha256?: string;
    size?: number;
    fileExists?: boolean;
    requests: unknown[];
  };
}

/** What the binding reports after an operation. */
export interface Outcome {
  result: string;
  location?: string;
  runId?: string;
  runResult?: string;
  items?: number;
  retryAfterSeconds?: number;
  detail?: string;
  /** A download's destination afterwards. */
  file?: { exists: boolean; size?: number; sha256?: string };
}

/** Every scenario file, in name order. */
export function loadScenarios(): Scenario[] {
  const dir = join(repoRoot, "conformance", "scenarios");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Scenario);
}

/** A running fake-server --control: its origin, and how to stop it. */
export interface Fake {
  origin: string;
  /** Stops the fake and returns what it wrote on stderr (contract violations among it). */
  stop(): Promise<string>;
}

/**
 * Starts `itwin-export fake-server --control` on a free loopback port and
 * waits for its first stdout line, its URL. The binary is $FAKE_SERVER when
 * set (make conformance builds it), else built here into a temporary folder.
 */
export async function startFake(): Promise<Fake> {
  let bin = process.env.FAKE_SERVER;
  let built: string | undefined;
  if (!bin) {
    built = mkdtempSync(join(tmpdir(), "itwin-export-fake-"));
    bin = join(built, "itwin-export");
    const go = spawnSync("go", ["build", "-o", bin, "./cmd/itwin-export"], { cwd: repoRoot, stdio: "inherit" });
    if (go.status !== 0) throw new Error("go build ./cmd/itwin-export failed");
  }
  const child = spawn(bin, ["fake-server", "--addr", "127.0.0.1:0", "--control"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const killOnExit = () => child.kill("SIGKILL");
  process.on("exit", killOnExit);
  const url = await firstLine(child);
  return {
    origin: new URL(url).origin,
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      process.off("exit", killOnExit);
      if (built) rmSync(built, { recursive: true, force: true });
      return stderr;
    },
  };
}

/** The child's first stdout line; fails when it exits first. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    child.once("exit", (code) => reject(new Error(`fake-server exited (${code}) before printing its URL`)));
    lines.once("line", (line) => resolve(line.trim()));
  });
}

async function control(fake: Fake, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${fake.origin}/_fake/${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`control ${path}: ${res.status} ${text}`);
  return text === "" ? undefined : JSON.parse(text);
}

/** Replaces each {name} of vars in the JSON form of value. */
function withVariables<T>(value: T, vars: Record<string, string>): T {
  let text = JSON.stringify(value);
  for (const [k, v] of Object.entries(vars)) text = text.split(`{${k}}`).join(JSON.stringify(v).slice(1, -1));
  return JSON.parse(text) as T;
}

/** Performs a scenario's operation with a client; overridable to try broken clients. */
export type Perform = (sc: Scenario, apiUrl: string, op: Scenario["operation"], signal: AbortSignal) => Promise<Outcome>;

/** The binding as it is. */
export const performWithBinding = (fetchImpl?: (r: Request) => Promise<Response>): Perform =>
  async (sc, apiUrl, op, signal) => {
    const c = sc.client;
    const client = new ExportClient({
      baseUrl: apiUrl,
      token: TOKEN,
      fetch: fetchImpl,
      retry: {
        maxAttempts: c.maxAttempts,
        minBackoffMs: c.minBackoffMillis,
        maxBackoffMs: c.maxBackoffMillis,
        maxRetryAfterSeconds: c.maxRetryAfterSeconds,
      },
    });
    const wait = { minIntervalMs: c.pollMinMillis, maxIntervalMs: c.pollMaxMillis, signal };
    if (op.name === "download") return download(client, op.fileId!, c.maxResumes, signal);
    let items = 0;
    try {
      switch (op.name) {
        case "createRun": {
          const ref = await client.createRun(op.connectionId!, op.request!, signal);
          return { result: ref.existing ? "existing" : "ok", location: ref.location, runId: ref.runId };
        }
        case "export": {
          const { ref, run } = await client.export(op.connectionId!, op.request!, wait);
          return { result: "ok", location: ref.location, runId: ref.runId, runResult: run.result };
        }
        case "getRun":
          return { result: "ok", runResult: (await client.getRun(op.location!, signal)).result };
        case "waitRun":
          return { result: "ok", runResult: (await client.waitRun(op.location!, wait)).result };
        case "listRuns":
          for await (const _ of client.listRuns(op.connectionId!, signal)) items++;
          return { result: "ok", items };
        case "listConnections":
          for await (const _ of client.listConnections(op.iModelId!, signal)) items++;
          return { result: "ok", items };
      }
      return { result: "unknownOperation", detail: op.name };
    } catch (err) {
      return classify(err, items);
    }
  };

/** Downloads into a new temporary folder and describes the destination afterwards. */
async function download(client: ExportClient, fileId: string, maxResumes: number | undefined, signal: AbortSignal): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), "conformance-download-"));
  const path = join(dir, "downloaded");
  let outcome: Outcome;
  try {
    await client.downloadFile(fileId, path, { maxResumes, signal });
    outcome = { result: "ok" };
  } catch (err) {
    outcome = classify(err, 0);
  }
  try {
    const content = readFileSync(path);
    outcome.file = { exists: true, size: content.length, sha256: createHash("sha256").update(content).digest("hex") };
  } catch {
    outcome.file = { exists: false };
  }
  rmSync(dir, { recursive: true, force: true });
  return outcome;
}

/** The result class of a failed operation. */
function classify(err: unknown, items: number): Outcome {
  // The caller's deadline ends the call with the signal's own reason.
  if (err instanceof DOMException && err.name === "TimeoutError") return { result: "timeout", items, detail: err.message };
  if (!(err instanceof ExportError)) return { result: "unclassified", items, detail: String(err) };
  return { result: err.kind, items, runResult: err.run?.result, retryAfterSeconds: err.retryAfterSeconds, detail: err.message };
}

/** Runs one scenario and returns its failures (none: it passed). */
export async function runScenario(fake: Fake, sc: Scenario, perform: Perform): Promise<string[]> {
  await control(fake, "POST", "reset");
  const { variables } = await control(fake, "POST", "script", sc.script);
  const op = withVariables(sc.operation, variables);
  const exp = withVariables(sc.expect, variables);
  const got = await perform(sc, variables.apiUrl, op, AbortSignal.timeout(sc.client.timeoutSeconds * 1000));
  const failures: string[] = [];
  if (got.result !== exp.result) failures.push(`result "${got.result}", want "${exp.result}" (${got.detail})`);
  if (exp.location !== undefined && got.location !== exp.location) failures.push(`location "${got.location}", want "${exp.location}"`);
  if (exp.runId !== undefined && got.runId !== exp.runId) failures.push(`runId "${got.runId}", want "${exp.runId}"`);
  if (exp.runResult !== undefined && got.runResult !== exp.runResult) failures.push(`run result "${got.runResult}", want "${exp.runResult}"`);
  if (exp.items !== undefined && got.items !== exp.items) failures.push(`${got.items} items, want ${exp.items}`);
  if (exp.retryAfterSeconds !== undefined && got.retryAfterSeconds !== exp.retryAfterSeconds) {
    failures.push(`retry after ${got.retryAfterSeconds}s, want ${exp.retryAfterSeconds}s`);
  }
  if (exp.fileExists !== undefined && got.file?.exists !== exp.fileExists) failures.push(`destination exists: ${got.file?.exists}, want ${exp.fileExists}`);
  if (exp.sha256 !== undefined && got.file?.sha256 !== exp.sha256) failures.push(`content SHA-256 ${got.file?.sha256}, want ${exp.sha256}`);
  if (exp.size !== undefined && got.file?.size !== exp.size) failures.push(`content of ${got.file?.size} bytes, want ${exp.size}`);
  const verdict = await control(fake, "POST", "verify", { requests: exp.requests });
  return [...failures, ...verdict.failures];
}
