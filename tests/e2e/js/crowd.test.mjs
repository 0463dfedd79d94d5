// 200 clients in one room, one broadcast: each receives it exactly once.
import { test } from "node:test";
import { monitorEventLoopDelay } from "node:perf_hooks";
import assert from "node:assert/strict";
import { clients, waitConnect, ask, uid, within } from "./helpers.mjs";

const N = 200;
const CONCURRENCY = 20;

/** Runs `fn(i)` for i in [0, n) with at most `limit` in flight; stops starting new ones after a failure. */
async function pool(n, limit, fn) {
  const results = new Array(n);
  let next = 0;
  async function worker() {
    while (next < n) {
      const i = next++;
      try {
        results[i] = await fn(i);
      } catch (err) {
        next = n;
        throw err;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  return results;
}

test(`crowd: ${N} clients join a room, one broadcast reaches each exactly once`, { timeout: 45000 }, async (t) => {
  // Unexpected disconnects (and event-loop stalls of this process) make any
  // failure below self-explanatory. Registered before clients(t) so it runs
  // before the clients are closed.
  let finished = false;
  const drops = {};
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  t.after(() => {
    finished = true;
    lag.disable();
    const maxLag = Math.round(lag.max / 1e6);
    if (Object.keys(drops).length || maxLag > 200) {
      t.diagnostic(`unexpected disconnects: ${JSON.stringify(drops)}; max event-loop delay of the test process: ${maxLag} ms`);
    }
  });
  const c = clients(t);
  const room = `crowd-${uid()}`;
  const counts = new Array(N).fill(0);
  const payload = { hello: "crowd", n: N, blob: Buffer.from([1, 2, 3]) };
  let bad = 0;

  const sockets = await pool(N, CONCURRENCY, async (i) => {
    const s = c.socket("/");
    s.on("crowd-msg", (p) => {
      counts[i]++;
      if (p?.hello !== "crowd" || !Buffer.from(p.blob).equals(payload.blob)) bad++;
    });
    s.on("disconnect", (reason) => {
      if (!finished) drops[reason] = (drops[reason] ?? 0) + 1;
    });
    await waitConnect(s, 10000);
    assert.equal(await ask(s, "join", room), "ok");
    return s;
  });
  assert.equal(new Set(sockets.map((s) => s.id)).size, N, "socket ids must be unique");

  let arrived = 0;
  const all = new Promise((resolve) => {
    sockets.forEach((s) =>
      s.once("crowd-msg", () => {
        if (++arrived === N) resolve();
      }),
    );
  });
  assert.equal(await ask(sockets[0], "broadcast", { room, event: "crowd-msg", args: [payload] }), "ok");
  await within(all, 10000, `${N} crowd broadcasts (got ${arrived})`);

  // Per-connection ordering fence (broadcast to the room this time): anything
  // duplicated would have arrived before it.
  const token = uid();
  let fenced = 0;
  const fenceDone = new Promise((resolve) => {
    sockets.forEach((s) =>
      s.on("crowd-fence", (x) => {
        if (x === token && ++fenced === N) resolve();
      }),
    );
  });
  assert.equal(await ask(sockets[N - 1], "broadcast", { room, event: "crowd-fence", args: [token] }), "ok");
  await within(fenceDone, 10000, `${N} fences (got ${fenced})`);

  assert.deepEqual(drops, {}, "no client may be dropped during the test");
  assert.deepEqual(counts, new Array(N).fill(1));
  assert.equal(bad, 0, "some clients got a corrupted payload");
});
