// Shared helpers for the e2e tests. Not a test file itself (node --test only
// picks up *.test.mjs).
//
// Env:
//   SIO_URL         base URL of the server under test, e.g. http://127.0.0.1:3000
//   SIO_TRANSPORTS  websocket | polling | upgrade   (default: websocket)
import { after } from "node:test";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { io, Manager } from "socket.io-client";

export const URL = process.env.SIO_URL;
if (!URL) {
  throw new Error("SIO_URL must be set (e.g. http://127.0.0.1:3000)");
}

export const MODE = process.env.SIO_TRANSPORTS ?? "websocket";

const MODES = {
  websocket: { transports: ["websocket"], upgrade: false },
  polling: { transports: ["polling"], upgrade: false },
  upgrade: { transports: ["polling", "websocket"], upgrade: true },
};
if (!MODES[MODE]) {
  throw new Error(`SIO_TRANSPORTS must be one of ${Object.keys(MODES).join(", ")}; got ${MODE}`);
}

/** Default bound (ms) for any single wait. */
export const WAIT = 5000;

/**
 * The contract's pingInterval 500 / pingTimeout 2000 means a stall of > 2 s in
 * this process (or the server) drops connections with "ping timeout". When
 * that happens on an overloaded machine, say so next to the failures.
 */
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();
after((t) => {
  loopDelay.disable();
  const max = Math.round(loopDelay.max / 1e6);
  if (max > 300) {
    const msg = `max event-loop delay of this test process was ${max} ms: with pingTimeout 2000 ms, ` +
      "disconnects ('ping timeout', 'socket has been disconnected') may be caused by machine load";
    if (t && typeof t.diagnostic === "function") t.diagnostic(msg);
    else console.log(`# ${msg}`);
  }
});

/** Options every client/manager gets. */
export function baseOptions(extra = {}) {
  return {
    ...MODES[MODE],
    forceNew: true,
    reconnection: false,
    timeout: 5000, // connect timeout of the Manager
    ...extra,
  };
}

/** Random lowercase alphanumeric id, usable in dynamic namespace names and room names. */
export function uid(n = 10) {
  const abc = "abcdefghijklmnopqrstuvwxyz0123456789";
  let s = "";
  for (let i = 0; i < n; i++) s += abc[Math.floor(Math.random() * abc.length)];
  return s;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves with the argument array of the next `event` on `emitter`
 * (optionally the next one satisfying `filter`), rejects after `ms`.
 */
export function waitFor(emitter, event, ms = WAIT, filter) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timed out after ${ms} ms waiting for "${event}"`));
    }, ms);
    function on(...args) {
      if (filter && !filter(...args)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(args);
    }
    emitter.on(event, on);
  });
}

/** Resolves on "connect", rejects on "connect_error" (with the error) or timeout. */
export function waitConnect(socket, ms = WAIT) {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms} ms waiting for connect to ${socket.nsp}`));
    }, ms);
    const onConnect = () => {
      cleanup();
      resolve();
    };
    const onError = (err) => {
      cleanup();
      reject(err);
    };
    function cleanup() {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
    }
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
  });
}

/** Resolves with the connect_error Error; rejects if the socket connects instead, or on timeout. */
export function waitConnectError(socket, ms = WAIT) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms} ms waiting for connect_error on ${socket.nsp}`));
    }, ms);
    const onConnect = () => {
      cleanup();
      reject(new Error(`expected connect_error on ${socket.nsp}, but it connected`));
    };
    const onError = (err) => {
      cleanup();
      resolve(err);
    };
    function cleanup() {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
    }
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
  });
}

/**
 * Emits with an ack callback; resolves with ALL ack arguments (as an array),
 * rejects if no ack within `ms`.
 */
export function emitAck(socket, ms, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(ms).emit(event, ...args, (err, ...res) => {
      if (err) reject(new Error(`no ack for "${event}" within ${ms} ms: ${err.message}${why(socket)}`));
      else resolve(res);
    });
  });
}

/** Like emitWithAck but bounded: resolves with the FIRST ack argument. */
export function ask(socket, event, ...args) {
  return socket
    .timeout(WAIT)
    .emitWithAck(event, ...args)
    .catch((err) => {
      throw new Error(`no ack for "${event}" within ${WAIT} ms: ${err.message}${why(socket)}`);
    });
}

/** " (socket disconnected: <reason>)" if the socket was dropped, for error messages. */
function why(socket) {
  return socket.lastDisconnectReason ? ` (socket disconnected: ${socket.lastDisconnectReason})` : "";
}

/** Remembers the last disconnect reason on the socket, for error messages. */
function remember(socket) {
  socket.on("disconnect", (reason) => {
    socket.lastDisconnectReason = reason;
  });
  return socket;
}

/** Records every occurrence of `event` on `socket` (arrays of args). */
export function collect(socket, event) {
  const got = [];
  socket.on(event, (...args) => got.push(args));
  return got;
}

/** Bounds an arbitrary promise: rejects after `ms` with a message naming `what`. */
export function within(promise, ms = WAIT, what = "promise") {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `fn` until it returns a truthy value; rejects after `ms`. */
export async function eventually(fn, ms = WAIT, every = 25, what = "condition") {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/**
 * Per-test client registry: everything created through it is closed when the
 * test finishes (t.after), so no handle is left behind.
 */
export function clients(t) {
  const sockets = [];
  const managers = [];
  t.after(() => {
    for (const s of sockets) s.close();
    for (const m of managers) m.disconnect();
  });
  return {
    /** io(URL + nsp) with forceNew/reconnection:false; not yet awaited. */
    socket(nsp = "/", opts = {}) {
      const s = remember(io(URL + nsp, baseOptions(opts)));
      sockets.push(s);
      return s;
    },
    /** A Manager (one engine connection) for multiplexing several namespaces. */
    manager(opts = {}) {
      const m = new Manager(URL, baseOptions(opts));
      managers.push(m);
      return m;
    },
    /** manager.socket(nsp) tracked for cleanup. */
    on(manager, nsp = "/", opts = {}) {
      const s = remember(manager.socket(nsp, opts));
      sockets.push(s);
      return s;
    },
    /** Connects and waits for both "connect" and the "welcome" event; returns {socket, welcome}. */
    async connect(nsp = "/", opts = {}) {
      const s = this.socket(nsp, opts);
      const welcome = waitFor(s, "welcome");
      welcome.catch(() => {});
      await waitConnect(s);
      return { socket: s, welcome: (await welcome)[0] };
    },
  };
}

/**
 * In "upgrade" mode, waits until the engine has upgraded to websocket, so that
 * timing-sensitive tests run on a settled transport. No-op in other modes.
 */
export async function settled(socket, ms = WAIT) {
  if (MODE !== "upgrade") return;
  const engine = socket.io.engine;
  if (engine.transport.name === "websocket" && !engine.upgrading) return;
  await waitFor(engine, "upgrade", ms);
}

/** Deep-converts any binary value (ArrayBuffer / typed array) to a Buffer, for comparisons. */
export function normalizeBinary(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(normalizeBinary);
  if (v && typeof v === "object") {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = normalizeBinary(x);
    return o;
  }
  return v;
}

/**
 * Ordering fence for negative assertions: emits `event` (with a unique token)
 * to the whole namespace via "broadcast" from `sender`, then waits until every
 * socket in `all` has received it. Packets to one socket are delivered in
 * order, so anything broadcast earlier has arrived by then.
 */
export async function fence(sender, all, event = "fence") {
  const token = uid();
  const arrivals = all.map((s) => waitFor(s, event, WAIT, (x) => x === token));
  const acked = ask(sender, "broadcast", { event, args: [token] });
  await Promise.all([acked, ...arrivals]);
}
