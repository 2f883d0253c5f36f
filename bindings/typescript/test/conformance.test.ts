// Every conformance scenario against the binding, one test per scenario file
// (make conformance counts them).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Fake, loadScenarios, performWithBinding, runScenario, startFake } from "./runner.ts";

let fake: Fake;
before(async () => {
  fake = await startFake();
});
after(async () => {
  // The fake checks every exchange it answers itself against openapi.yaml.
  const stderr = await fake?.stop();
  assert.doesNotMatch(stderr ?? "", /contract violation/);
});

for (const sc of loadScenarios()) {
  test(sc.name, async () => {
    assert.deepEqual(await runScenario(fake, sc, performWithBinding()), []);
  });
}
