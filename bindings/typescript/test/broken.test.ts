// Broken variants of the binding fail the scenarios that guard the traps
// they ignore: the scenarios can tell a correct binding from a broken one.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Fake, loadScenarios, performWithBinding, runScenario, startFake } from "./runner.ts";

let fake: Fake;
before(async () => {
  fake = await startFake();
});
after(async () => {
  await fake?.stop();
});

const scenario = (name: string) => {
  const sc = loadScenarios().find((s) => s.name === name);
  assert.ok(sc, `no scenario ${name}`);
  return sc;
};

/** Sends a GET to the answer's Location with the request's headers, token included. */
async function follow(request: Request, response: Response): Promise<Response> {
  const target = new URL(response.headers.get("Location")!, request.url);
  const headers = new Headers(request.headers);
  headers.delete("Content-Type");
  return fetch(target, { headers, redirect: "manual" });
}

const cases: { name: string; scenario: string; fetch: (r: Request) => Promise<Response>; want: string[] }[] = [
  {
    name: "fetch left to follow redirects (no redirect: manual)",
    scenario: "create-303-not-followed",
    fetch: (r) => fetch(new Request(r, { redirect: "follow" })),
    want: ['result "unexpectedStatus", want "existing"', "GET * on api: saw 1 requests, want 0"],
  },
  {
    name: "follows a foreign Location with the token",
    scenario: "create-foreign-location-refused",
    fetch: async (r) => {
      const res = await fetch(r);
      if (res.status === 202) await (await follow(r, res)).text();
      return res;
    },
    want: ["* * on foreign: saw 1 requests, want 0"],
  },
  {
    name: "sends the token to the blob origin",
    scenario: "download-blob-without-credentials",
    fetch: (r) => {
      const headers = new Headers(r.headers);
      if (!headers.has("Authorization")) headers.set("Authorization", "Bearer conformance-token");
      return fetch(new Request(r, { headers }));
    },
    want: ['result "invalidRequest", want "ok"', "GET * on blob: request 1 (GET /exports/"],
  },
  {
    name: "retries a create after 500",
    scenario: "create-500-not-retried",
    fetch: async (r) => {
      const again = r.clone();
      const res = await fetch(r);
      return r.method === "POST" && res.status >= 500 ? fetch(again) : res;
    },
    want: ['result "ok", want "server"', "POST /export/connections/*/runs on api: saw 2 requests, want 1"],
  },
];

for (const c of cases) {
  test(c.name, async () => {
    const failures = await runScenario(fake, scenario(c.scenario), performWithBinding(c.fetch));
    for (const want of c.want) {
      assert.ok(failures.some((f) => f.startsWith(want)), `no failure ${JSON.stringify(want)} among ${JSON.stringify(failures)}`);
    }
  });
}
