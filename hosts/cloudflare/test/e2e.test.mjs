// The official client's e2e suite (tests/e2e/js, contract tests/e2e/APP.md)
// against the Worker in miniflare, in the three transport modes, and the
// recovery file against a Worker with connection state recovery (its store
// in the object's storage, and in memory only).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { start, APP_VARS, repoRoot } from "./mf.mjs";

const jsDir = path.join(repoRoot, "tests", "e2e", "js");
const files = readdirSync(jsDir).filter((f) => f.endsWith(".test.mjs")).map((f) => path.join(jsDir, f));

function run(env, testFiles) {
  return new Promise((resolve, reject) => {
    const childEnv = { ...process.env, ...env };
    delete childEnv.NODE_TEST_CONTEXT; // a test runner of its own, not a child of this one
    const child = spawn(process.execPath, ["--test", "--test-concurrency=1", ...testFiles], {
      cwd: repoRoot,
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function summary(out) {
  return out.split("\n").filter((l) => /^# (pass|fail|skipped)/.test(l)).map((l) => l.slice(2)).join(", ");
}

// recovery: off; kept in the object's storage (the default); in the
// instance's memory only (RECOVERY_STORE=0)
for (const [recovery, name, extra] of [
  [false, "", {}],
  [true, " (recovery mode)", {}],
  [true, " (recovery mode, in memory)", { RECOVERY_STORE: "0" }],
]) {
  test(`official client e2e suite${name}`, async (t) => {
    const vars = recovery ? { ...APP_VARS, RECOVERY_MS: "2000", ...extra } : APP_VARS;
    const { url, mf } = await start(vars);
    t.after(() => mf.dispose());
    for (const mode of ["websocket", "polling", "upgrade"]) {
      await t.test(mode, async () => {
        const env = { SIO_URL: url, SIO_TRANSPORTS: mode, SIO_RECOVERY_MS: recovery ? "2000" : "" };
        const only = recovery ? files.filter((f) => f.endsWith("recovery.test.mjs")) : files;
        const { code, out } = await run(env, only);
        t.diagnostic(`${mode}: ${summary(out)}`);
        const failed = out.split("\n").filter((l) => /^not ok/.test(l)).join("\n");
        assert.equal(code, 0, `tests/e2e/js in ${mode} mode failed:\n${failed}\n${out.slice(-6000)}`);
        assert.match(out, /^# fail 0$/m);
        assert.doesNotMatch(out, /^# pass 0$/m, "no test ran");
      });
    }
  });
}
