// Connection, namespaces, auth, middleware, multiplexing, transports.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  MODE, WAIT, clients, waitFor, waitConnect, waitConnectError, ask, eventually, uid,
} from "./helpers.mjs";

const T = { timeout: 20000 };

test("connect to / with auth and query: welcome carries id/nsp/auth/query", T, async (t) => {
  const c = clients(t);
  const auth = { user: "alice", n: 1, nested: { list: [1, "two", null] } };
  const { socket, welcome } = await c.connect("/", { auth, query: { foo: "bar" } });
  assert.equal(typeof socket.id, "string");
  assert.ok(socket.id.length > 0);
  assert.deepEqual(welcome, { id: socket.id, nsp: "/", auth, query: "bar" });
  assert.equal(socket.connected, true);
  // The Socket.IO session id is not the Engine.IO session id.
  assert.notEqual(socket.id, socket.io.engine.id);
});

test("connect to /chat with the right token", T, async (t) => {
  const c = clients(t);
  const auth = { token: "secret", extra: { emoji: "🔑" } };
  const { socket, welcome } = await c.connect("/chat", { auth });
  assert.deepEqual(welcome, { id: socket.id, nsp: "/chat", auth, query: null });
});

test("no auth → handshake.auth is {} and query.foo absent → null", T, async (t) => {
  const c = clients(t);
  const { socket, welcome } = await c.connect("/");
  assert.deepEqual(welcome, { id: socket.id, nsp: "/", auth: {}, query: null });
});

test("transport in use matches SIO_TRANSPORTS", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  const engine = socket.io.engine;
  if (MODE === "upgrade") {
    if (engine.transport.name !== "websocket") {
      assert.equal(engine.transport.name, "polling", "upgrade mode must start on polling");
      await waitFor(engine, "upgrade", WAIT);
    }
    assert.equal(engine.transport.name, "websocket", "connection did not upgrade to websocket");
    // Still fully functional after the upgrade.
    assert.equal(await ask(socket, "echo", "after-upgrade"), "after-upgrade");
  } else {
    assert.equal(engine.transport.name, MODE);
    assert.equal(await ask(socket, "echo", "x"), "x");
  }
});

test("two namespaces multiplexed on one Manager get different ids", T, async (t) => {
  const c = clients(t);
  const m = c.manager({ query: { foo: "q" } });
  const a = c.on(m, "/", { auth: { who: "a" } });
  const b = c.on(m, "/chat", { auth: { token: "secret", who: "b" } });
  const wa = waitFor(a, "welcome");
  const wb = waitFor(b, "welcome");
  await Promise.all([waitConnect(a), waitConnect(b)]);
  const [[welA], [welB]] = await Promise.all([wa, wb]);
  assert.equal(a.io, b.io, "both sockets share one Manager");
  assert.equal(a.io.engine, b.io.engine, "one engine connection");
  assert.notEqual(a.id, b.id);
  assert.deepEqual(welA, { id: a.id, nsp: "/", auth: { who: "a" }, query: "q" });
  assert.deepEqual(welB, { id: b.id, nsp: "/chat", auth: { token: "secret", who: "b" }, query: "q" });
  // Both namespaces are usable independently over the same connection.
  const [ra, rb] = await Promise.all([ask(a, "echo", "on-root"), ask(b, "echo", "on-chat")]);
  assert.equal(ra, "on-root");
  assert.equal(rb, "on-chat");
});

test("middleware on / rejects with message and data", T, async (t) => {
  const c = clients(t);
  const s = c.socket("/", { auth: { reject: true } });
  const err = await waitConnectError(s);
  assert.equal(err.message, "rejected");
  assert.deepEqual(err.data, { code: 42 });
  assert.equal(s.connected, false);
});

test("middleware on /chat rejects a bad token and a missing token", T, async (t) => {
  const c = clients(t);
  for (const auth of [{ token: "nope" }, undefined]) {
    const s = c.socket("/chat", auth ? { auth } : {});
    const err = await waitConnectError(s);
    assert.equal(err.message, "unauthorized");
    assert.deepEqual(err.data, { reason: "bad token" });
  }
});

test("unknown namespaces are refused with 'Invalid namespace'", T, async (t) => {
  const c = clients(t);
  for (const nsp of ["/nope", "/dyn-ABC", "/dyn-", "/chat2"]) {
    const s = c.socket(nsp);
    const err = await waitConnectError(s);
    assert.equal(err.message, "Invalid namespace", `for ${nsp}`);
  }
});

test("a refused namespace does not break the other namespaces of the same connection", T, async (t) => {
  const c = clients(t);
  const m = c.manager();
  const ok = c.on(m, "/");
  await waitConnect(ok);
  const bad = c.on(m, "/nope");
  const err = await waitConnectError(bad);
  assert.equal(err.message, "Invalid namespace");
  const bad2 = c.on(m, "/chat", { auth: { token: "wrong" } });
  const err2 = await waitConnectError(bad2);
  assert.equal(err2.message, "unauthorized");
  assert.equal(ok.connected, true);
  assert.equal(await ask(ok, "echo", "still here"), "still here");
});

test("dynamic namespace /dyn-abc connects", T, async (t) => {
  const c = clients(t);
  const { socket, welcome } = await c.connect("/dyn-abc", { auth: { k: "v" } });
  assert.deepEqual(welcome, { id: socket.id, nsp: "/dyn-abc", auth: { k: "v" }, query: null });
  assert.equal(await ask(socket, "echo", 1), 1);
});

test("count reflects sockets connected to the namespace", T, async (t) => {
  const c = clients(t);
  const nsp = `/dyn-${uid()}`;
  const { socket: a } = await c.connect(nsp);
  assert.equal(await ask(a, "count"), 1);
  const { socket: b } = await c.connect(nsp);
  const { socket: x } = await c.connect(nsp);
  assert.equal(await ask(a, "count"), 3);
  b.disconnect();
  x.io.engine.close();
  await eventually(async () => (await ask(a, "count")) === 1, WAIT, 25, "count to drop to 1");
});
