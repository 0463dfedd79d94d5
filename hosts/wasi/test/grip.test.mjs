// The official socket.io-client through Pushpin to the WASI handler
// (started by hosts/wasi/grip_test.go): SIO_URL, SIO_TRANSPORTS as in
// tests/e2e (websocket | polling | upgrade).
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

const URL = process.env.SIO_URL;
const MODE = process.env.SIO_TRANSPORTS || "websocket";
const transports = MODE === "websocket" ? ["websocket"] : MODE === "polling" ? ["polling"] : ["polling", "websocket"];

function connect(t, nsp = "/") {
  const s = io(URL + nsp, { transports, forceNew: true, reconnection: false });
  t.after(() => s.close());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no connect within 5 s")), 5000);
    s.once("connect", () => { clearTimeout(timer); resolve(s); });
    s.once("connect_error", (e) => { clearTimeout(timer); reject(e); });
  });
}

function next(s, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
    s.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
}

test("events with acks, client → server and server → client", async (t) => {
  const s = await connect(t);
  assert.deepEqual(await s.timeout(5000).emitWithAck("echo", 1, "two", { three: [3] }), 1);
  s.on("question", (q, ack) => ack(`answer to ${q}`));
  const res = await s.timeout(5000).emitWithAck("ask", "life", 3000);
  assert.deepEqual(res, { ok: true, answer: "answer to life" });
  if (MODE === "upgrade") {
    await new Promise((r) => (s.io.engine.transport.name === "websocket" ? r() : s.io.engine.once("upgrade", r)));
    assert.equal(s.io.engine.transport.name, "websocket");
  }
});

test("binary event with a binary ack", async (t) => {
  const s = await connect(t);
  const bin = await s.timeout(5000).emitWithAck("echo", Buffer.from([1, 2, 3]));
  assert.deepEqual(Buffer.from(bin), Buffer.from([1, 2, 3]));
});

test("a broadcast reaches clients on other connections", async (t) => {
  const nsp = `/dyn-b${Date.now().toString(36)}`;
  const socks = await Promise.all([0, 1, 2, 3].map(() => connect(t, nsp)));
  const room = "r";
  for (const s of socks.slice(0, 3)) assert.equal(await s.timeout(5000).emitWithAck("join", room), "ok");
  const got = socks.slice(0, 3).map((s) => next(s, "news"));
  let outsider = 0;
  socks[3].on("news", () => outsider++);
  assert.equal(await socks[0].timeout(5000).emitWithAck("broadcast", { room, event: "news", args: ["hi", 2] }), "ok");
  for (const args of await Promise.all(got)) assert.deepEqual(args, ["hi", 2]);
  // with an instance per request each reply meets another instance: the
  // handler asks each target itself and keeps the replies in its state
  socks.slice(0, 3).forEach((s, i) => s.on("poll", (ack) => ack(i)));
  const acks = await socks[3].timeout(5000).emitWithAck("broadcast-ack", { room, timeoutMs: 3000 });
  assert.equal(acks.err, null);
  assert.deepEqual(acks.responses.sort(), [0, 1, 2]);
  // one target stays silent: the others' replies and the timeout
  socks[2].off("poll");
  socks[2].on("poll", () => {});
  const late = await socks[3].timeout(5000).emitWithAck("broadcast-ack", { room, timeoutMs: 1500 });
  assert.equal(late.err, "operation has timed out");
  assert.deepEqual(late.responses.sort(), [0, 1]);
  assert.equal(await socks[3].timeout(5000).emitWithAck("count"), 4);
  assert.equal(outsider, 0);
});
