// The SDK's own tests, beyond the official e2e suite (which run.mjs also
// runs against it): restarts of the server, the offline buffer, volatile
// drops, retries, multiplexing by io(), the auth function, Manager events.
// Env: SDK_SERVER (go|node), SIO_TRANSPORTS (websocket|polling|upgrade).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { io, Manager } from "socket.io-client"; // this SDK (alias.mjs)
import { startServer, restartServer } from "./servers.mjs";

const MODE = process.env.SIO_TRANSPORTS ?? "websocket";
const MODES = {
  websocket: { transports: ["websocket"], upgrade: false },
  polling: { transports: ["polling"], upgrade: false },
  upgrade: { transports: ["polling", "websocket"] },
};
const WAIT = 8000;
const T = { timeout: 30000 };

function waitFor(em, ev, ms = WAIT, filter) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (em.off(ev, on), reject(new Error(`timed out waiting for "${ev}"`))), ms);
    function on(...a) {
      if (filter && !filter(...a)) return;
      clearTimeout(timer);
      em.off(ev, on);
      resolve(a);
    }
    em.on(ev, on);
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function opts(extra) {
  return { ...MODES[MODE], forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 300, timeout: 5000, ...extra };
}

let server = await startServer();
after(() => server.stop());
const url = () => `http://127.0.0.1:${server.port}`;

function track(t, s) {
  t.after(() => s.io.disconnect());
  return s;
}

test("reconnection after the server restarts, with the offline buffer and volatile drops", T, async (t) => {
  const s = track(t, io(url() + "/", opts({ auth: { n: 1 } })));
  const got = [];
  s.on("echo", (...a) => got.push(a));
  await waitFor(s, "connect");
  const id1 = s.id;
  const attempts = [];
  s.io.on("reconnect_attempt", (n) => attempts.push(n));
  const reconnected = waitFor(s.io, "reconnect");
  const disc = waitFor(s, "disconnect");
  await server.stop();
  const [reason] = await disc;
  assert.ok(["transport close", "transport error"].includes(reason), reason);
  assert.equal(s.connected, false);
  // while disconnected: buffered, except volatile
  s.emit("echo", "buffered-1");
  s.volatile.emit("echo", "volatile");
  const ack = s.timeout(WAIT).emitWithAck("echo", "buffered-ack");
  server = await restartServer(server.port);
  const connected = waitFor(s, "connect");
  await reconnected;
  await connected;
  assert.ok(attempts.length >= 1);
  assert.notEqual(s.id, id1);
  assert.equal(await ack, "buffered-ack");
  await s.timeout(WAIT).emitWithAck("echo", "fence");
  assert.deepEqual(got, [["buffered-1"]]);
});

test("io() multiplexes namespaces on one Manager unless forceNew", T, async (t) => {
  const base = { ...MODES[MODE], timeout: 5000 };
  const a = track(t, io(url() + "/", base));
  const b = track(t, io(url() + "/chat", { ...base, auth: { token: "secret" } }));
  const c = track(t, io(url() + "/", { ...base }));
  assert.equal(a.io, b.io);
  assert.notEqual(a.io, c.io); // same namespace again: a new Manager
  await Promise.all([waitFor(a, "connect"), waitFor(b, "connect"), waitFor(c, "connect")]);
  assert.equal(a.io.engine.id, b.io.engine.id);
  assert.notEqual(a.io.engine.id, c.io.engine.id);
  const d = track(t, io(url() + "/chat", { ...base, auth: { token: "secret" }, forceNew: true }));
  assert.notEqual(d.io, a.io);
  await waitFor(d, "connect");
});

test("auth as a function, called on every connection", T, async (t) => {
  let calls = 0;
  const s = track(t, io(url() + "/chat", opts({ auth: (cb) => cb({ token: "secret", call: ++calls }) })));
  const [w1] = await waitFor(s, "welcome");
  assert.deepEqual(w1.auth, { token: "secret", call: 1 });
  s.disconnect();
  s.connect();
  const [w2] = await waitFor(s, "welcome");
  assert.deepEqual(w2.auth, { token: "secret", call: 2 });
});

test("acknowledgements: timeouts both ways, emitWithAck errors, server acks", T, async (t) => {
  const s = track(t, io(url() + "/", opts()));
  await waitFor(s, "connect");
  await assert.rejects(s.timeout(100).emitWithAck("slow-ack", 1000), /operation has timed out/);
  assert.equal(await s.timeout(WAIT).emitWithAck("slow-ack", 10), "late");
  s.on("question", (q, cb) => cb({ re: q }));
  assert.deepEqual(await s.timeout(WAIT).emitWithAck("ask", "q?", 2000), { ok: true, answer: { re: "q?" } });
  s.off("question");
  s.on("question", () => {}); // never answers
  assert.deepEqual(await s.timeout(WAIT).emitWithAck("ask", "q?", 100), { ok: false, error: "operation has timed out" });
  // callback form with a timeout: err first
  const r = await new Promise((res) => s.timeout(WAIT).emit("echo", 1, 2, (err, a, b) => res([err, a, b])));
  assert.deepEqual(r, [null, 1, 2]);
  // a pending ack with a timeout fails when the socket disconnects
  const pending = s.timeout(WAIT).emitWithAck("slow-ack", 3000);
  s.disconnect();
  await assert.rejects(pending, /socket has been disconnected/);
});

test("retries with ackTimeout deliver an emit at least once", T, async (t) => {
  const s = track(t, io(url() + "/", opts({ retries: 3, ackTimeout: 300 })));
  await waitFor(s, "connect");
  assert.equal(await s.emitWithAck("echo", "r1"), "r1");
  const [a, b] = await Promise.all([s.emitWithAck("echo", "r2"), s.emitWithAck("echo", "r3")]);
  assert.deepEqual([a, b], ["r2", "r3"]);
});

test("binary: ArrayBuffer, typed arrays and Blob-free nesting both ways", T, async (t) => {
  const s = track(t, io(url() + "/", opts()));
  await waitFor(s, "connect");
  const ab = new Uint8Array([1, 2, 3]).buffer;
  const [x, y] = await new Promise((res) => s.timeout(WAIT).emit("echo", ab, { deep: [new Uint16Array([258])] }, (e, ...r) => res(r)));
  assert.deepEqual([...new Uint8Array(x.buffer ?? x, x.byteOffset ?? 0, x.byteLength)], [1, 2, 3]);
  const d = y.deep[0];
  assert.deepEqual([...new Uint8Array(d.buffer ?? d, d.byteOffset ?? 0, d.byteLength)], [2, 1]);
});

test("binary: a Blob is sent as its bytes, in order with the emits around it, and in an ack", T, async (t) => {
  const s = track(t, io(url() + "/", opts()));
  await waitFor(s, "connect");
  const got = [];
  s.on("echo", (...a) => got.push(a));
  const bytes = (b) => [...new Uint8Array(b.buffer ?? b, b.byteOffset ?? 0, b.byteLength)];
  s.emit("echo", "before");
  s.emit("echo", new Blob([new Uint8Array([7, 8]), "9"]), { nested: new Blob(["ab"]) });
  s.emit("echo", "after");
  const [e, x] = await new Promise((res) => s.timeout(WAIT).emit("echo", new Blob([new Uint8Array([1, 2, 3])]), (...r) => res(r)));
  assert.equal(e, null);
  assert.deepEqual(bytes(x), [1, 2, 3]);
  assert.equal(got.length, 3);
  assert.deepEqual(got[0], ["before"]);
  assert.deepEqual(bytes(got[1][0]), [7, 8, 57]);
  assert.deepEqual(bytes(got[1][1].nested), [97, 98]);
  assert.deepEqual(got[2], ["after"]);
  // a Blob in the answer to the server's acknowledgement request
  s.on("question", (q, cb) => cb(new Blob([new Uint8Array([4, 2])])));
  const r = await s.timeout(WAIT).emitWithAck("ask", "q?", 2000);
  assert.equal(r.ok, true);
  assert.deepEqual(bytes(r.answer), [4, 2]);
});

test("onAny, onAnyOutgoing, once, off, and the manager's lifecycle events", T, async (t) => {
  const s = track(t, io(url() + "/", opts({ autoConnect: false })));
  const mevents = [];
  for (const ev of ["open", "close", "error"]) s.io.on(ev, () => mevents.push(ev));
  const any = [];
  const out = [];
  s.onAny((ev, ...a) => any.push([ev, ...a]));
  s.onAnyOutgoing((ev, ...a) => out.push([ev, ...a]));
  let once = 0;
  s.once("echo", () => once++);
  assert.equal(s.connected, false);
  s.connect();
  await waitFor(s, "connect");
  assert.equal(s.active, true);
  s.emit("echo", "a");
  s.emit("echo", "b");
  await s.timeout(WAIT).emitWithAck("echo", "fence");
  assert.equal(once, 1);
  assert.deepEqual(out.map((e) => e[0]), ["echo", "echo", "echo"]);
  assert.ok(any.some((e) => e[0] === "welcome") && any.filter((e) => e[0] === "echo").length === 2);
  assert.throws(() => s.emit("disconnect"), /reserved/);
  const closed = waitFor(s.io, "close");
  s.disconnect(); // the last socket: the manager closes
  const [reason] = await closed;
  assert.equal(reason, "forced close");
  assert.deepEqual(mevents, ["open", "close"]);
});

test("connect_error for a failing server address, then reconnect_failed", T, async (t) => {
  const dead = await startServer();
  const port = dead.port;
  await dead.stop();
  const m = new Manager(`http://127.0.0.1:${port}`, { ...MODES[MODE], reconnectionAttempts: 2, reconnectionDelay: 50, reconnectionDelayMax: 50 });
  t.after(() => m.disconnect());
  const s = m.socket("/");
  const [err] = await waitFor(s, "connect_error");
  assert.ok(err instanceof Error && err.message.length > 0);
  await waitFor(m, "reconnect_failed");
});
