// Disconnect reasons as seen by the client and as recorded by the server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WAIT, MODE, clients, waitFor, waitConnect, ask, eventually, settled } from "./helpers.mjs";

const T = { timeout: 20000 };

/** Polls "last-reason" (through `observer`) until the server has recorded a reason for `id`. */
function serverReason(observer, id, ms = WAIT) {
  return eventually(() => ask(observer, "last-reason", id), ms, 25, `server-side disconnect reason of ${id}`);
}

async function observerOf(c) {
  const { socket } = await c.connect("/");
  return socket;
}

test("last-reason is null for a socket that is still connected or unknown", T, async (t) => {
  const c = clients(t);
  const obs = await observerOf(c);
  assert.equal(await ask(obs, "last-reason", obs.id), null);
  assert.equal(await ask(obs, "last-reason", "no-such-socket-id"), null);
});

test("server disconnect(false) → client 'io server disconnect', server 'server namespace disconnect'; other namespace unaffected", T, async (t) => {
  const c = clients(t);
  const obs = await observerOf(c);
  const m = c.manager();
  const root = c.on(m, "/");
  const chat = c.on(m, "/chat", { auth: { token: "secret" } });
  await Promise.all([waitConnect(root), waitConnect(chat)]);
  const id = root.id;
  const d = waitFor(root, "disconnect");
  root.emit("disconnect-me", false);
  const [reason] = await d;
  assert.equal(reason, "io server disconnect");
  assert.equal(root.connected, false);
  assert.equal(await serverReason(obs, id), "server namespace disconnect");
  // Only the namespace was disconnected: the connection and /chat live on.
  assert.equal(chat.connected, true);
  assert.equal(await ask(chat, "echo", "still"), "still");
  assert.equal(await ask(obs, "last-reason", chat.id), null);
});

test("server disconnect(true) → every namespace of the connection gets 'io server disconnect'; server records 'server namespace disconnect'", T, async (t) => {
  const c = clients(t);
  const obs = await observerOf(c);
  const m = c.manager();
  const root = c.on(m, "/");
  const chat = c.on(m, "/chat", { auth: { token: "secret" } });
  await Promise.all([waitConnect(root), waitConnect(chat)]);
  const ids = [root.id, chat.id];
  const closed = waitFor(m, "close");
  const dRoot = waitFor(root, "disconnect");
  const dChat = waitFor(chat, "disconnect");
  root.emit("disconnect-me", true);
  const [[rRoot], [rChat]] = await Promise.all([dRoot, dChat]);
  assert.equal(rRoot, "io server disconnect");
  assert.equal(rChat, "io server disconnect");
  await closed; // the underlying connection is gone too
  assert.equal(await serverReason(obs, ids[0]), "server namespace disconnect");
  assert.equal(await serverReason(obs, ids[1]), "server namespace disconnect");
});

test("client socket.disconnect() → server 'client namespace disconnect'; other namespace unaffected", T, async (t) => {
  const c = clients(t);
  const obs = await observerOf(c);
  const m = c.manager();
  const root = c.on(m, "/");
  const chat = c.on(m, "/chat", { auth: { token: "secret" } });
  await Promise.all([waitConnect(root), waitConnect(chat)]);
  const id = chat.id;
  const d = waitFor(chat, "disconnect");
  chat.disconnect();
  assert.deepEqual((await d).slice(0, 1), ["io client disconnect"]);
  assert.equal(await serverReason(obs, id), "client namespace disconnect");
  assert.equal(root.connected, true);
  assert.equal(await ask(root, "echo", "still"), "still");
});

test("client closes the engine connection → server 'transport close'", T, async (t) => {
  const c = clients(t);
  const obs = await observerOf(c);
  const m = c.manager();
  const root = c.on(m, "/");
  const chat = c.on(m, "/chat", { auth: { token: "secret" } });
  await Promise.all([waitConnect(root), waitConnect(chat)]);
  await settled(root);
  const ids = [root.id, chat.id];
  const dRoot = waitFor(root, "disconnect");
  const dChat = waitFor(chat, "disconnect");
  m.engine.close();
  const [[rRoot], [rChat]] = await Promise.all([dRoot, dChat]);
  assert.equal(rRoot, "forced close"); // client-side reason when the engine is closed locally
  assert.equal(rChat, "forced close");
  assert.equal(await serverReason(obs, ids[0]), "transport close");
  assert.equal(await serverReason(obs, ids[1]), "transport close");
});

test("client manager.disconnect() → server 'transport close'", T, async (t) => {
  const c = clients(t);
  const obs = await observerOf(c);
  const { socket } = await c.connect("/");
  await settled(socket);
  const id = socket.id;
  const d = waitFor(socket, "disconnect");
  socket.io.disconnect();
  assert.equal((await d)[0], "forced close");
  assert.equal(await serverReason(obs, id), "transport close");
});

test("ping timeout: a client that stops answering pings is dropped with 'ping timeout'", T, async (t) => {
  const c = clients(t);
  const obs = await observerOf(c);
  const { socket } = await c.connect("/");
  await settled(socket);
  const id = socket.id;
  const engine = socket.io.engine;
  // engine.io-client 6.6.x answers a server "ping" with this._sendPacket("pong").
  // Swallow the pongs (only) so the server sees a silent peer.
  assert.equal(typeof engine._sendPacket, "function", "engine.io-client internals changed: _sendPacket missing");
  const send = engine._sendPacket;
  let pings = 0;
  engine.on("ping", () => pings++);
  engine._sendPacket = function (type, ...rest) {
    if (type === "pong") return;
    return send.call(this, type, ...rest);
  };
  const t0 = Date.now();
  const [reason] = await waitFor(socket, "disconnect", 6000);
  const elapsed = Date.now() - t0;
  assert.ok(pings >= 1, "the server never sent a ping");
  // pingInterval 500 + pingTimeout 2000 → the server drops us after ~2.5 s.
  assert.ok(elapsed < 4500, `dropped only after ${elapsed} ms`);
  // The server closed the transport; depending on how the close is delivered the
  // client observes it as a transport close (or, for polling, a failed request).
  const allowed = MODE === "websocket" ? ["transport close"] : ["transport close", "transport error"];
  assert.ok(allowed.includes(reason), `client reason ${reason}`);
  assert.equal(await serverReason(obs, id), "ping timeout");
});

test("a client that answers pings stays connected across several ping intervals", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  let pings = 0;
  socket.io.engine.on("ping", () => pings++);
  let disconnected = null;
  socket.on("disconnect", (r) => (disconnected = r));
  await new Promise((r) => setTimeout(r, 1800));
  assert.equal(disconnected, null);
  assert.ok(pings >= 2, `only ${pings} pings in 1.8 s with pingInterval 500`);
  assert.equal(await ask(socket, "echo", "alive"), "alive");
});
