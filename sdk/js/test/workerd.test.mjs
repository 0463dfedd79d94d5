// The SDK in workerd: test/workerd/worker.js, a Worker module importing the
// built SDK (sdk/js/dist, core.wasm passed as opts.wasm), run by miniflare
// (workerd from npm, no account) on 127.0.0.1. For each transport mode the
// Worker connects to the server SDK_SERVER names (go: the Go e2e app, node:
// Node's socket.io), runs one session (ack round trip, server events, binary
// both ways, a server question answered, disconnect) and answers with what it
// saw, which is asserted here. WebSocket is workerd's WebSocket client (new
// WebSocket(ws://...)), or with extraHeaders a fetch with Upgrade: websocket
// (workerd's constructor takes no headers); polling is its fetch.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { access } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { startServer } from "./servers.mjs";

const SDK = fileURLToPath(new URL("../", import.meta.url));
const T = { timeout: 60000 };

let server, mf, worker;
before(async () => {
  for (const f of ["dist/index.js", "dist/core.wasm"]) {
    try {
      await access(SDK + f);
    } catch {
      throw new Error(`sdk/js/${f} is missing: run make sdk`);
    }
  }
  server = await startServer();
  mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    modules: true,
    modulesRoot: SDK,
    scriptPath: SDK + "test/workerd/worker.js",
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
  });
  worker = await mf.ready;
});
after(async () => {
  await mf?.dispose();
  await server?.stop();
});

/** One session in the Worker; its report. */
async function session(mode, headers) {
  const u = new URL(worker);
  u.searchParams.set("url", `http://127.0.0.1:${server.port}`);
  u.searchParams.set("mode", mode);
  if (headers) u.searchParams.set("headers", "1");
  const r = await fetch(u, { signal: AbortSignal.timeout(45000) });
  const body = await r.text();
  assert.equal(r.status, 200, `the Worker answered ${r.status}: ${body}`);
  const out = JSON.parse(body);
  assert.equal(out.error, undefined, `the session in workerd failed after [${out.steps}]: ${out.error}`);
  return out;
}

const ab = (...bytes) => ({ bin: "ArrayBuffer", bytes });

const CASES = [
  ["websocket", false],
  ["polling", false],
  ["upgrade", false],
  ["websocket", true],
  ["upgrade", true],
];
for (const [mode, headers] of CASES) {
  const name = `workerd (${mode}${headers ? ", extraHeaders" : ""}): connect, acks, events and binary both ways, disconnect`;
  test(name, T, async () => {
    const out = await session(mode, headers);
    assert.match(out.id, /^[\w-]{8,}$/);
    assert.equal(out.connected, true);
    assert.equal(out.transport, mode === "polling" ? "polling" : "websocket");
    assert.deepEqual(out.welcome, { id: out.id, nsp: "/", auth: { who: "workerd" }, query: "bar" });
    assert.deepEqual(out.ack, ["hé 🙂", { n: 1, list: [true, null] }]);
    // binary arrives as ArrayBuffer (workerd has no Buffer without nodejs_compat)
    assert.deepEqual(out.binaryAck, [ab(1, 2, 3), { nested: [ab(2, 1)] }]);
    assert.deepEqual(out.serverEvents, [["plain", ab(255, 0)]]);
    assert.deepEqual(out.question, [{ ok: true, answer: { from: "workerd", p: { q: 42 } } }]);
    assert.deepEqual(out.questionPayload, { q: 42 });
    assert.equal(out.disconnect, "io client disconnect");
    assert.deepEqual(out.afterDisconnect, { connected: false, id: null });
    assert.equal(out.serverReason, "client namespace disconnect");
    assert.equal(out.managerClose[0], "forced close");
  });
}
