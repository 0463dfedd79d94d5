// 200 clients in one room, one broadcast: each receives it exactly once.
//
// The clients live in worker threads (crowd-worker.mjs): with pingInterval 500
// (and the first contract's pingTimeout 400), 200 long-polling clients in ONE
// event loop kept it so busy that the loop stalled past the timeout. The server then dropped
// clients for "ping timeout", and the next poll gets HTTP 400. Spread over
// several loops, the same clients keep up.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { URL, baseOptions, uid } from "./helpers.mjs";

const N = 200;
const WORKERS = 4;
const CONCURRENCY_PER_WORKER = 10;

/** A worker plus a bounded "next message of type X" reader. */
function spawn() {
  const w = new Worker(new globalThis.URL("./crowd-worker.mjs", import.meta.url));
  const queue = [];
  const waiters = [];
  let dead = null;
  const deliver = () => {
    for (let i = 0; i < waiters.length; ) {
      const wt = waiters[i];
      const idx = queue.findIndex((m) => m.type === wt.type);
      const errIdx = queue.findIndex((m) => m.type === "error");
      if (errIdx >= 0) {
        waiters.splice(i, 1);
        wt.reject(new Error(`crowd worker: ${queue[errIdx].message}`));
      } else if (idx >= 0) {
        waiters.splice(i, 1);
        wt.resolve(queue.splice(idx, 1)[0]);
      } else if (dead) {
        waiters.splice(i, 1);
        wt.reject(dead);
      } else i++;
    }
  };
  w.on("message", (m) => {
    queue.push(m);
    deliver();
  });
  w.on("error", (err) => {
    dead = err;
    deliver();
  });
  w.on("exit", (code) => {
    dead ??= new Error(`crowd worker exited (${code})`);
    deliver();
  });
  return {
    worker: w,
    send: (m) => w.postMessage(m),
    next(type, ms, what) {
      const p = new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(wt);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`timed out after ${ms} ms waiting for ${what ?? type}`));
        }, ms);
        const wt = {
          type,
          resolve: (v) => (clearTimeout(timer), resolve(v)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        };
        waiters.push(wt);
        deliver();
      });
      // Callers await this; if the test fails early, a later rejection must not
      // surface as an unhandled rejection after the test has ended.
      p.catch(() => {});
      return p;
    },
  };
}

test(`crowd: ${N} clients join a room, one broadcast reaches each exactly once`, { timeout: 60000 }, async (t) => {
  const { transports, upgrade } = baseOptions();
  const room = `crowd-${uid()}`;
  const workers = Array.from({ length: WORKERS }, spawn);
  t.after(async () => {
    for (const wk of workers) wk.send({ cmd: "close" });
    await Promise.all(
      workers.map(async (wk) => {
        const exited = new Promise((resolve) => wk.worker.once("exit", resolve));
        const timer = setTimeout(() => wk.worker.terminate(), 3000);
        await exited;
        clearTimeout(timer);
      }),
    );
  });

  // Connect everyone (each worker its slice, with bounded concurrency).
  const per = N / WORKERS;
  workers.forEach((wk, k) =>
    wk.send({ cmd: "start", url: URL, transports, upgrade, room, first: k * per, count: per, concurrency: CONCURRENCY_PER_WORKER }),
  );
  const ready = await Promise.all(workers.map((wk) => wk.next("ready", 30000, `${per} clients to connect and join`)));
  const early = {};
  for (const r of ready) for (const [k, v] of Object.entries(r.drops)) early[k] = (early[k] ?? 0) + v;
  const lagAtReady = Math.max(...ready.map((r) => r.maxLagMs));
  assert.deepEqual(early, {}, `clients dropped while connecting (max event-loop delay in the workers: ${lagAtReady} ms)`);
  const ids = ready.flatMap((r) => r.ids);
  assert.equal(ids.length, N);
  assert.equal(new Set(ids).size, N, "socket ids must be unique");

  // One broadcast to the room (sent by a member of it).
  const token = uid();
  const gotMsg = workers.map((wk) => wk.next("got", 10000, "every client to get crowd-msg"));
  workers[0].send({ cmd: "emit", event: "crowd-msg", room, arg: token });
  await workers[0].next("emitted", 10000, "broadcast ack");
  for (const g of await Promise.all(gotMsg)) assert.equal(g.event, "crowd-msg");

  // Ordering fence: a second broadcast to the room. Packets to one client
  // arrive in order, so a duplicate of the first would have arrived by now.
  const gotFence = workers.map((wk) => wk.next("got", 10000, "every client to get crowd-fence"));
  workers[WORKERS - 1].send({ cmd: "emit", event: "crowd-fence", room, arg: uid() });
  await workers[WORKERS - 1].next("emitted", 10000, "fence broadcast ack");
  for (const g of await Promise.all(gotFence)) assert.equal(g.event, "crowd-fence");

  for (const wk of workers) wk.send({ cmd: "report" });
  const reports = await Promise.all(workers.map((wk) => wk.next("report", 10000)));
  const drops = {};
  let bad = 0;
  let maxLag = 0;
  const counts = [];
  for (const r of reports) {
    for (const [k, v] of Object.entries(r.drops)) drops[k] = (drops[k] ?? 0) + v;
    bad += r.bad;
    maxLag = Math.max(maxLag, r.maxLagMs);
    counts.push(...r.counts["crowd-msg"]);
  }
  if (maxLag > 300) t.diagnostic(`max event-loop delay in the crowd workers: ${maxLag} ms`);
  assert.deepEqual(drops, {}, "no client may be dropped during the test");
  assert.equal(counts.length, N);
  assert.deepEqual(counts, new Array(N).fill(1), "each client must get the broadcast exactly once");
  assert.equal(bad, 0, "some clients got a corrupted payload");
});
