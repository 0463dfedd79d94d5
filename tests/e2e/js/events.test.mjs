// Events in both directions, acks, emitWithAck timeouts, server→client acks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WAIT, clients, waitFor, emitAck, ask, settled, within } from "./helpers.mjs";

const T = { timeout: 20000 };

const ARGS = [
  "hello",
  42,
  3.14159,
  -7,
  0,
  1e21,
  true,
  false,
  null,
  "",
  "unicode: héllo wörld — 日本語 — emoji 🌍🚀👩‍👩‍👧 — \u2028\u2029",
  "control chars: \n \r \t \u0000 \u001e \u001f \\ \" / end",
  { nested: { deep: [1, { a: "b" }, [[], {}]], emoji: "🎉" }, empty: {}, list: [] },
  [1, "two", null, { three: 3 }],
];

test("echo with ack returns the same JSON args", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  const res = await emitAck(socket, WAIT, "echo", ...ARGS);
  assert.deepEqual(res, ARGS);
});

test("echo without ack comes back as an 'echo' event", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  const got = waitFor(socket, "echo");
  socket.emit("echo", ...ARGS);
  assert.deepEqual(await got, ARGS);
});

test("echo on /chat and on a dynamic namespace", T, async (t) => {
  const c = clients(t);
  const { socket: chat } = await c.connect("/chat", { auth: { token: "secret" } });
  const { socket: dyn } = await c.connect("/dyn-events1");
  assert.deepEqual(await emitAck(chat, WAIT, "echo", { a: 1 }, "b"), [{ a: 1 }, "b"]);
  const got = waitFor(dyn, "echo");
  dyn.emit("echo", [1, 2, 3]);
  assert.deepEqual(await got, [[1, 2, 3]]);
});

test("ack with no arguments", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  assert.deepEqual(await emitAck(socket, WAIT, "echo"), []);
});

test("event with no arguments comes back with no arguments", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  const got = waitFor(socket, "echo");
  socket.emit("echo");
  assert.deepEqual(await got, []);
});

test("large payload (300 KB string) round-trips", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  const big = "x€🌍".repeat(100_000 / 3) + "end";
  const [res] = await emitAck(socket, WAIT, "echo", { big });
  assert.equal(res.big.length, big.length);
  assert.equal(res.big, big);
});

test("many events keep their order and every ack is matched to its emit", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  const N = 200;
  const events = [];
  const done = new Promise((resolve) => {
    socket.on("echo", (i) => {
      events.push(i);
      if (events.length === N) resolve();
    });
  });
  const acks = [];
  for (let i = 0; i < N; i++) {
    socket.emit("echo", i);
    acks.push(emitAck(socket, WAIT, "echo", { i }, `s${i}`));
  }
  const results = await Promise.all(acks);
  results.forEach((r, i) => assert.deepEqual(r, [{ i }, `s${i}`]));
  await within(done, WAIT, `${N} echo events`);
  assert.deepEqual(events, Array.from({ length: N }, (_, i) => i));
});

test("emitWithAck with a client timeout shorter than the server delay rejects", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  await settled(socket);
  let acked = false;
  await assert.rejects(
    socket.timeout(100).emitWithAck("slow-ack", 500).then((v) => (acked = v)),
    (err) => {
      assert.equal(err.message, "operation has timed out");
      return true;
    },
  );
  assert.equal(acked, false);
  // The late ack (arriving after the client gave up) must not break the connection.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await ask(socket, "echo", "alive"), "alive");
});

test("emitWithAck with a long enough timeout resolves 'late'", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  assert.equal(await socket.timeout(2000).emitWithAck("slow-ack", 50), "late");
});

test("server→client ack: client answers 'question' → {ok:true, answer}", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  socket.on("question", (payload, ack) => {
    assert.equal(typeof ack, "function", "server emit with ack must give the client an ack callback");
    ack({ echoed: payload, from: "client", n: 7 });
  });
  const payload = { q: "what? ❓", list: [1, null, "x"] };
  const res = await ask(socket, "ask", payload, 2000);
  assert.deepEqual(res, { ok: true, answer: { echoed: payload, from: "client", n: 7 } });
});

test("server→client ack: client never answers → {ok:false, 'operation has timed out'}", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  let asked = 0;
  socket.on("question", () => {
    asked++; // deliberately never call the ack
  });
  const t0 = Date.now();
  const res = await ask(socket, "ask", "anyone?", 200);
  const elapsed = Date.now() - t0;
  assert.deepEqual(res, { ok: false, error: "operation has timed out" });
  assert.equal(asked, 1);
  assert.ok(elapsed >= 150, `server timed out too early (${elapsed} ms)`);
});

test("server→client ack on /chat", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/chat", { auth: { token: "secret" } });
  socket.on("question", (payload, ack) => ack(payload * 2));
  assert.deepEqual(await ask(socket, "ask", 21, 2000), { ok: true, answer: 42 });
});
