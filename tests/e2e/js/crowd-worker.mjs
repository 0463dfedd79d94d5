// Worker thread for crowd.test.mjs: owns a slice of the crowd's clients, so
// that the 200 clients' traffic (pings every 500 ms, which is heavy with
// long-polling) is spread over several event loops instead of stalling one.
// Not a test file. Protocol with the main thread (postMessage):
//   in:  {cmd: "start", url, transports, upgrade, room, first, count, concurrency}
//   out: {type: "ready", ids, drops, maxLagMs}  all clients connected and joined `room`
//   in:  {cmd: "emit", event, arg}       ask client #0 of this slice to "broadcast" to the room
//   out: {type: "emitted"}
//   out: {type: "got", event, n}         every client of the slice got `event` at least once (sent once per event)
//   in:  {cmd: "report"}
//   out: {type: "report", counts: {event: [per client]}, bad, drops, maxLagMs}
//   in:  {cmd: "close"}
//   out: {type: "closed"}
//   out: {type: "error", message}
import { parentPort } from "node:worker_threads";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { io } from "socket.io-client";

const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();

let sockets = [];
let ids = [];
let closing = false;
const counts = {};
const drops = {};
let bad = 0;
const BLOB = Buffer.from([1, 2, 3]);

function fail(err) {
  const lagMs = Math.round(lag.max / 1e6);
  parentPort.postMessage({
    type: "error",
    message: `${err?.message ?? err}; disconnects so far: ${JSON.stringify(drops)}; max event-loop delay in this worker: ${lagMs} ms`,
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function connectOne(opts, i, room) {
  const s = io(opts.url + "/", {
    transports: opts.transports,
    upgrade: opts.upgrade,
    forceNew: true,
    reconnection: false,
    timeout: 10000,
  });
  sockets[i] = s;
  s.on("disconnect", (reason, details) => {
    if (closing) return;
    const d = details?.description;
    const status = details?.context?.status;
    const key = d == null ? reason : `${reason} (${d?.message ?? d}${status ? `, HTTP ${status}` : ""})`;
    drops[key] = (drops[key] ?? 0) + 1;
  });
  s.onAny((event, p) => {
    if (!event.startsWith("crowd-")) return; // e.g. "welcome"
    if (!counts[event]) counts[event] = new Array(sockets.length).fill(0);
    counts[event][i]++;
    if (p?.hello !== "crowd" || !Buffer.from(p.blob ?? []).equals(BLOB)) bad++;
    if (counts[event][i] === 1 && counts[event].every((n) => n > 0)) {
      parentPort.postMessage({ type: "got", event, n: counts[event].length });
    }
  });
  return withTimeout(
    new Promise((resolve, reject) => {
      s.once("connect", resolve);
      s.once("connect_error", reject);
    }),
    10000,
    `connect of client ${opts.first + i}`,
  ).then(() => {
    ids[i] = s.id;
    return withTimeout(s.emitWithAck("join", room), 10000, `join of client ${opts.first + i}`);
  });
}

async function start(opts) {
  sockets = new Array(opts.count);
  ids = new Array(opts.count);
  let next = 0;
  let failed = false;
  async function worker() {
    while (next < opts.count && !failed) {
      const i = next++;
      try {
        const r = await connectOne(opts, i, opts.room);
        if (r !== "ok") throw new Error(`join answered ${JSON.stringify(r)}`);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.count) }, worker));
  parentPort.postMessage({ type: "ready", ids, drops, maxLagMs: Math.round(lag.max / 1e6) });
}

parentPort.on("message", async (msg) => {
  try {
    if (msg.cmd === "start") {
      await start(msg);
    } else if (msg.cmd === "emit") {
      const payload = { hello: "crowd", token: msg.arg, blob: BLOB };
      const r = await withTimeout(
        sockets[0].emitWithAck("broadcast", { room: msg.room, event: msg.event, args: [payload] }),
        10000,
        "broadcast ack",
      );
      if (r !== "ok") throw new Error(`broadcast answered ${JSON.stringify(r)}`);
      parentPort.postMessage({ type: "emitted" });
    } else if (msg.cmd === "report") {
      parentPort.postMessage({ type: "report", counts, bad, drops, maxLagMs: Math.round(lag.max / 1e6) });
    } else if (msg.cmd === "close") {
      closing = true;
      for (const s of sockets) s?.close();
      lag.disable();
      parentPort.postMessage({ type: "closed" });
      // Let the close packets go out, then leave.
      parentPort.close();
    }
  } catch (err) {
    fail(err);
  }
});
