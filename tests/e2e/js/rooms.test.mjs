// Rooms, broadcasts (to / except / whole namespace) and broadcast acks.
// Each test uses its own dynamic namespace so parallel test files cannot interfere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WAIT, clients, ask, emitAck, collect, fence, uid, eventually } from "./helpers.mjs";

const T = { timeout: 20000 };

async function three(c, nsp) {
  const r = await Promise.all([c.connect(nsp), c.connect(nsp), c.connect(nsp)]);
  return r.map((x) => x.socket);
}

test("rooms: to, except, whole namespace, multiple rooms, leave", T, async (t) => {
  const c = clients(t);
  const nsp = `/dyn-${uid()}`;
  const [a, b, x] = await three(c, nsp);
  const got = { a: collect(a, "ev"), b: collect(b, "ev"), x: collect(x, "ev") };
  const reset = () => Object.values(got).forEach((l) => (l.length = 0));
  const all = [a, b, x];

  assert.equal(await ask(a, "join", "r1"), "ok");
  assert.equal(await ask(b, "join", "r1"), "ok");
  assert.equal(await ask(b, "join", "r2"), "ok");

  // to r1 → a and b only (sent by x, who is not in r1)
  assert.equal(await ask(x, "broadcast", { room: "r1", event: "ev", args: ["to-r1", { n: 1 }] }), "ok");
  await fence(x, all);
  assert.deepEqual(got.a, [["to-r1", { n: 1 }]]);
  assert.deepEqual(got.b, [["to-r1", { n: 1 }]]);
  assert.deepEqual(got.x, []);
  reset();

  // to r1 except r2 → a only (b is in r2). The sender is included when it is in the room.
  assert.equal(await ask(a, "broadcast", { room: "r1", except: "r2", event: "ev", args: ["r1-not-r2"] }), "ok");
  await fence(x, all);
  assert.deepEqual(got.a, [["r1-not-r2"]]);
  assert.deepEqual(got.b, []);
  assert.deepEqual(got.x, []);
  reset();

  // whole namespace → everybody exactly once, sender included
  assert.equal(await ask(b, "broadcast", { event: "ev", args: ["all"] }), "ok");
  await fence(x, all);
  assert.deepEqual(got.a, [["all"]]);
  assert.deepEqual(got.b, [["all"]]);
  assert.deepEqual(got.x, [["all"]]);
  reset();

  // several rooms at once → the union, each socket once (b is in both r1 and r2)
  assert.equal(await ask(x, "join", "r3"), "ok");
  assert.equal(await ask(x, "broadcast", { room: ["r1", "r2", "r3"], event: "ev", args: ["union"] }), "ok");
  await fence(x, all);
  assert.deepEqual(got.a, [["union"]]);
  assert.deepEqual(got.b, [["union"]]);
  assert.deepEqual(got.x, [["union"]]);
  reset();

  // whole namespace except several rooms
  assert.equal(await ask(x, "broadcast", { except: ["r2", "r3"], event: "ev", args: ["not-r2-r3"] }), "ok");
  await fence(x, all);
  assert.deepEqual(got.a, [["not-r2-r3"]]);
  assert.deepEqual(got.b, []);
  assert.deepEqual(got.x, []);
  reset();

  // every socket is in the room named after its own id
  assert.equal(await ask(x, "broadcast", { room: a.id, event: "ev", args: ["private"] }), "ok");
  await fence(x, all);
  assert.deepEqual(got.a, [["private"]]);
  assert.deepEqual(got.b, []);
  assert.deepEqual(got.x, []);
  reset();

  // leave: b leaves r1 → to r1 reaches a only
  assert.equal(await ask(b, "leave", "r1"), "ok");
  assert.equal(await ask(x, "broadcast", { room: "r1", event: "ev", args: ["after-leave"] }), "ok");
  await fence(x, all);
  assert.deepEqual(got.a, [["after-leave"]]);
  assert.deepEqual(got.b, []);
  assert.deepEqual(got.x, []);
  reset();

  // leaving a room one is not in is harmless; empty room → nobody
  assert.equal(await ask(x, "leave", "never-joined"), "ok");
  assert.equal(await ask(x, "broadcast", { room: "empty-room", event: "ev", args: ["nobody"] }), "ok");
  await fence(x, all);
  assert.deepEqual(got, { a: [], b: [], x: [] });
});

test("rooms are per namespace", T, async (t) => {
  const c = clients(t);
  const m = c.manager();
  const n1 = `/dyn-${uid()}`;
  const n2 = `/dyn-${uid()}`;
  const s1 = c.on(m, n1);
  const s2 = c.on(m, n2);
  const g1 = collect(s1, "ev");
  const g2 = collect(s2, "ev");
  assert.equal(await ask(s1, "join", "shared"), "ok");
  assert.equal(await ask(s2, "join", "shared"), "ok");
  assert.equal(await ask(s1, "broadcast", { room: "shared", event: "ev", args: [n1] }), "ok");
  await fence(s1, [s1]);
  await fence(s2, [s2]);
  assert.deepEqual(g1, [[n1]]);
  assert.deepEqual(g2, []);
});

test("a disconnected socket leaves its rooms", T, async (t) => {
  const c = clients(t);
  const nsp = `/dyn-${uid()}`;
  const [a, b, x] = await three(c, nsp);
  await Promise.all([ask(a, "join", "r"), ask(b, "join", "r")]);
  b.disconnect();
  // Wait until the server has processed b's disconnect, then only a may be polled.
  await eventually(async () => (await ask(x, "count")) === 2, WAIT, 25, "count to drop to 2");
  a.on("poll", (ack) => ack(a.id));
  const res = await ask(x, "broadcast-ack", { room: "r", timeoutMs: 2000 });
  assert.deepEqual(res, { err: null, responses: [a.id] });
});

test("broadcast acks: every member answers → sorted responses equal the ids", T, async (t) => {
  const c = clients(t);
  const nsp = `/dyn-${uid()}`;
  const sockets = await three(c, nsp);
  for (const s of sockets) {
    s.on("poll", (ack) => {
      assert.equal(typeof ack, "function");
      ack(s.id);
    });
    assert.equal(await ask(s, "join", "acks"), "ok");
  }
  const t0 = Date.now();
  const res = await emitAck(sockets[0], 10000, "broadcast-ack", { room: "acks", timeoutMs: 8000 }).then((r) => r[0]);
  assert.ok(Date.now() - t0 < 6000, "a complete broadcast ack must not wait for the timeout");
  assert.equal(res.err, null);
  assert.deepEqual([...res.responses].sort(), sockets.map((s) => s.id).sort());
});

test("broadcast acks: one member silent → 'operation has timed out' with the other responses", T, async (t) => {
  const c = clients(t);
  const nsp = `/dyn-${uid()}`;
  const [a, b, silent] = await three(c, nsp);
  a.on("poll", (ack) => ack(a.id));
  b.on("poll", (ack) => ack(b.id));
  let silentPolled = 0;
  silent.on("poll", () => silentPolled++);
  for (const s of [a, b, silent]) assert.equal(await ask(s, "join", "acks"), "ok");
  const t0 = Date.now();
  const res = await ask(a, "broadcast-ack", { room: "acks", timeoutMs: 300 });
  const elapsed = Date.now() - t0;
  assert.equal(res.err, "operation has timed out");
  assert.deepEqual([...res.responses].sort(), [a.id, b.id].sort());
  assert.equal(silentPolled, 1);
  assert.ok(elapsed >= 250, `timed out too early (${elapsed} ms)`);
});

test("broadcast acks: empty room → no error, no responses, right away", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect(`/dyn-${uid()}`);
  const t0 = Date.now();
  const [res] = await emitAck(socket, 10000, "broadcast-ack", { room: "nobody-here", timeoutMs: 8000 });
  assert.deepEqual(res, { err: null, responses: [] });
  assert.ok(Date.now() - t0 < 6000, "an empty broadcast ack must not wait for the timeout");
});

test("broadcast acks: JSON and binary responses", T, async (t) => {
  const c = clients(t);
  const nsp = `/dyn-${uid()}`;
  const [a, b] = await Promise.all([c.connect(nsp), c.connect(nsp)]).then((r) => r.map((x) => x.socket));
  a.on("poll", (ack) => ack({ who: "a", list: [1, null] }));
  b.on("poll", (ack) => ack({ who: "b", bin: Buffer.from([1, 2, 3]) }));
  await Promise.all([ask(a, "join", "mixed"), ask(b, "join", "mixed")]);
  const res = await ask(a, "broadcast-ack", { room: "mixed", timeoutMs: 2000 });
  assert.equal(res.err, null);
  const byWho = Object.fromEntries(res.responses.map((r) => [r.who, r]));
  assert.deepEqual(byWho.a, { who: "a", list: [1, null] });
  assert.equal(byWho.b.who, "b");
  assert.deepEqual(Buffer.from(byWho.b.bin), Buffer.from([1, 2, 3]));
});
