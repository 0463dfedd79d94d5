// Binary payloads in both directions (attachments at top level, nested, several, empty).
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { WAIT, clients, waitFor, emitAck, ask, normalizeBinary, uid, fence, within } from "./helpers.mjs";

const T = { timeout: 20000 };

function payload() {
  return [
    Buffer.from([0, 1, 2, 3, 254, 255]),
    {
      name: "nested",
      blob: Buffer.from("héllo 🌍", "utf8"),
      list: [Buffer.alloc(0), "text", 12, { deeper: Buffer.from([0x1e, 0x0a, 0x00]) }],
    },
    [Buffer.from("a"), Buffer.from("b"), null],
    "plain string",
    Buffer.alloc(0),
  ];
}

test("binary echo via ack (top level, nested, several attachments, empty)", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  const args = payload();
  const res = await emitAck(socket, WAIT, "echo", ...args);
  assert.deepEqual(normalizeBinary(res), args);
});

test("binary echo via event", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  const args = payload();
  const got = waitFor(socket, "echo");
  socket.emit("echo", ...args);
  assert.deepEqual(normalizeBinary(await got), args);
});

test("binary returned as a Buffer, not as a placeholder object", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  const [res] = await emitAck(socket, WAIT, "echo", { b: Buffer.from([9]) });
  const b = res.b;
  assert.ok(Buffer.isBuffer(b) || b instanceof ArrayBuffer || ArrayBuffer.isView(b), `got ${JSON.stringify(b)}`);
});

test("large binary (512 KB random) round-trips", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  const big = randomBytes(512 * 1024);
  const [res] = await emitAck(socket, WAIT, "echo", big);
  assert.ok(normalizeBinary(res).equals(big));
});

test("interleaved binary and text events keep their order", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  const N = 50;
  const got = [];
  const done = new Promise((resolve) => {
    socket.on("echo", (...a) => {
      got.push(a);
      if (got.length === N) resolve();
    });
  });
  const sent = [];
  for (let i = 0; i < N; i++) {
    const args = i % 2 ? [i, Buffer.from([i, i + 1])] : [i, { s: `t${i}` }];
    sent.push(args);
    socket.emit("echo", ...args);
  }
  await within(done, WAIT, `${N} echo events`);
  assert.deepEqual(normalizeBinary(got), sent);
});

test("binary on /chat", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/chat", { auth: { token: "secret" } });
  const args = payload();
  assert.deepEqual(normalizeBinary(await emitAck(socket, WAIT, "echo", ...args)), args);
});

test("binary server→client with a binary ack back (ask/question)", T, async (t) => {
  const c = clients(t);
  const { socket } = await c.connect("/");
  const blob = randomBytes(64);
  socket.on("question", (p, ack) => {
    const q = normalizeBinary(p);
    ack({ got: q.data, reply: Buffer.concat([q.data, Buffer.from([7])]), empty: Buffer.alloc(0) });
  });
  const res = await ask(socket, "ask", { data: blob }, 2000);
  assert.equal(res.ok, true, JSON.stringify(res));
  assert.deepEqual(normalizeBinary(res.answer), {
    got: blob,
    reply: Buffer.concat([blob, Buffer.from([7])]),
    empty: Buffer.alloc(0),
  });
});

test("binary in a room broadcast reaches every member intact", T, async (t) => {
  const c = clients(t);
  const nsp = `/dyn-${uid()}`;
  const room = `bin-${uid()}`;
  const [{ socket: a }, { socket: b }, { socket: x }] = await Promise.all([c.connect(nsp), c.connect(nsp), c.connect(nsp)]);
  await Promise.all([ask(a, "join", room), ask(b, "join", room)]);
  const ga = waitFor(a, "bin");
  const gb = waitFor(b, "bin");
  let xGot = 0;
  x.on("bin", () => xGot++);
  const args = payload();
  assert.equal(await ask(x, "broadcast", { room, event: "bin", args }), "ok");
  assert.deepEqual(normalizeBinary(await ga), args);
  assert.deepEqual(normalizeBinary(await gb), args);
  await fence(x, [a, b, x]);
  assert.equal(xGot, 0);
});
