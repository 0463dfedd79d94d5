// A hibernation cycle: clients on WebSockets (one direct, one upgraded from
// polling) leave the object idle until workerd evicts it (about 10 s, its
// default for an idle Durable Object whose WebSockets are all hibernatable),
// then the sessions go on with a new instance: same sockets, rooms and
// data, acks both ways, room broadcasts, the heartbeat (a ping after the
// wake, armed by the new instance's alarm), and a binary packet whose
// attachment arrives only after the wake (the snapshot carries the packet
// still waiting for it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { start, sleep, once } from "./mf.mjs";

test("sessions survive the object's hibernation", async (t) => {
  const { url, mf } = await start({ PING_INTERVAL_MS: "25000", PING_TIMEOUT_MS: "10000" });
  t.after(() => mf.dispose());
  const instance = async () => (await fetch(url + "/socket.io/__socketcore/instance")).json();
  const a = io(url, { transports: ["websocket"], forceNew: true, reconnection: false, auth: { name: "a" } });
  const b = io(url, { transports: ["polling", "websocket"], forceNew: true, reconnection: false });
  const chat = io(url + "/chat", { transports: ["websocket"], forceNew: true, reconnection: false, auth: { token: "secret" } });
  t.after(() => [a, b, chat].forEach((s) => s.close()));
  const reasons = [];
  for (const s of [a, b, chat]) s.on("disconnect", (r) => reasons.push(r));
  const [[wa], [wb]] = await Promise.all([once(a, "welcome"), once(b, "welcome"), once(chat, "welcome")]);
  if (b.io.engine.transport.name !== "websocket") await once(b.io.engine, "upgrade");
  assert.equal(await a.timeout(2000).emitWithAck("join", "team"), "ok");
  assert.equal(await b.timeout(2000).emitWithAck("join", "team"), "ok");
  assert.equal(await a.timeout(2000).emitWithAck("data-set", { user: "ann" }), "ok");
  const before = await instance();
  assert.equal(before.sessions, 3);
  // a binary event's header, written raw on the engine: its attachment
  // follows after the wake
  a.io.engine.write('51-["echo",{"_placeholder":true,"num":0}]');

  // idle: no event reaches the object until it is evicted
  await sleep(15000);
  const pinged = once(a.io.engine, "ping", 30000); // the heartbeat after the wake

  const echoed = once(a, "echo");
  a.io.engine.write(new Uint8Array([1, 2, 3]));
  const [att] = await echoed;
  assert.deepEqual([...new Uint8Array(att)], [1, 2, 3], "the binary event completed after the wake");

  assert.deepEqual(await a.timeout(3000).emitWithAck("echo", "after", { n: 1 }), "after");
  const after = await instance();
  assert.notEqual(after.instance, before.instance, "the object was not evicted: no hibernation happened");
  assert.equal(after.restored, 3, "every session restored from storage");
  assert.equal(after.sessions, 3);

  assert.equal(await a.timeout(2000).emitWithAck("woke?"), true);
  assert.deepEqual(await a.timeout(2000).emitWithAck("data-get"), { user: "ann" });
  assert.equal(await a.timeout(2000).emitWithAck("count"), 2);
  assert.equal(await chat.timeout(2000).emitWithAck("count"), 1);
  // the room survived: a broadcast from a reaches b (and a)
  const gotB = once(b, "news");
  const gotA = once(a, "news");
  assert.equal(await a.timeout(2000).emitWithAck("broadcast", { room: "team", event: "news", args: ["n1"] }), "ok");
  assert.deepEqual(await gotB, ["n1"]);
  assert.deepEqual(await gotA, ["n1"]);
  // an ack the server asks of the client, after the wake
  b.on("question", (q, ack) => ack(q * 2));
  assert.deepEqual(await b.timeout(3000).emitWithAck("ask", 21, 2000), { ok: true, answer: 42 });
  // the ids are the ones from before
  assert.equal(a.id, wa.id);
  assert.equal(b.id, wb.id);
  await pinged;
  assert.equal(await a.timeout(2000).emitWithAck("echo", "still here"), "still here");
  assert.deepEqual(reasons, [], "no client was disconnected");
});
