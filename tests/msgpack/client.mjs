// The official client (socket.io-client@4.8.4) with the msgpack parser
// (socket.io-msgpack-parser@3.0.2) against a server using that parser:
// events, acknowledgements both ways, binary, broadcasts, a second
// namespace with middleware, and a client with the default parser refused.
// Env: SIO_URL, SIO_MODE = websocket | polling | upgrade. Exits non-zero on
// the first failure. msgpack_test.go runs it against our server and against
// node-app.mjs (Node's socket.io@4.8.4), which proves the script right.
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import parser from "socket.io-msgpack-parser";

const URL_ = process.env.SIO_URL;
const MODE = process.env.SIO_MODE;
const MODES = {
  websocket: { transports: ["websocket"], upgrade: false },
  polling: { transports: ["polling"], upgrade: false },
  upgrade: { transports: ["polling", "websocket"], upgrade: true },
};
if (!URL_ || !MODES[MODE]) {
  console.error("SIO_URL and SIO_MODE (websocket, polling, upgrade) are required");
  process.exit(2);
}
const WAIT = 5000;

function opts(extra = {}) {
  return { ...MODES[MODE], parser, forceNew: true, reconnection: false, timeout: WAIT, ...extra };
}

// once resolves with the arguments of the next `event`, or rejects after WAIT.
function once(emitter, event, ms = WAIT) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timed out waiting for "${event}"`));
    }, ms);
    function on(...args) {
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(args);
    }
    emitter.on(event, on);
  });
}

async function connected(s) {
  if (s.connected) return;
  const [r] = await Promise.race([once(s, "connect"), once(s, "connect_error").then((e) => [e])]);
  if (r instanceof Error) throw new Error(`connect_error: ${r.message}`);
}

// call emits with an acknowledgement and resolves with all its arguments
// (emitWithAck gives the first one only).
function call(s, event, ...args) {
  return new Promise((resolve, reject) =>
    s.timeout(WAIT).emit(event, ...args, (err, ...res) => (err ? reject(err) : resolve(res))),
  );
}

const step = (name) => console.log(`ok ${MODE} ${name}`);
const bytes = (x) => [...Buffer.from(x instanceof ArrayBuffer ? new Uint8Array(x) : x)];

const a = io(URL_, opts());
await connected(a);
if (MODE !== "upgrade") assert.equal(a.io.engine.transport.name, MODE);
step("connect");

// client → server with an acknowledgement: every kind of value comes back
const date = new Date(Date.UTC(2024, 1, 29, 13, 45, 6, 789));
const sent = ["s", 0, -1, 255, 65536, 2 ** 32, 2 ** 53, -(2 ** 40), 0.5, -2.25, true, false, null,
  "héllo 😀", "x".repeat(300), { a: [1, { b: "c" }] }, [[[]]], {}];
const back = await call(a, "echo", ...sent);
assert.deepStrictEqual(back, sent);
step("echo values");

const [m0, z, d, u, o] = await call(a, "echo", "misc", -0, date, undefined, { a: undefined, b: 1 });
assert.equal(m0, "misc");
assert.ok(Object.is(z, 0), "-0 travels as 0 (notepack writes it as the integer 0)");
assert.equal(new Date(d).toISOString(), date.toISOString()); // a Date, or its ISO string
assert.equal(u ?? null, null);
assert.equal(o.a, undefined);
assert.equal(o.b, 1);
step("echo Date and undefined");

const bin = Buffer.from([0, 1, 2, 253, 254, 255]);
const big = Buffer.alloc(70000, 7); // bin 32
const ab = new Uint8Array([9, 8, 7]).buffer; // an ArrayBuffer travels as ext 0
const [b1, nested, b3, b4] = await call(a, "echo", bin, { deep: [bin, "x"] }, big, ab);
assert.ok(Buffer.isBuffer(b1) && b1.equals(bin), "binary argument");
assert.ok(Buffer.isBuffer(nested.deep[0]) && nested.deep[0].equals(bin) && nested.deep[1] === "x", "nested binary");
assert.ok(b3.length === big.length && Buffer.from(b3).equals(big), "70000 bytes");
assert.deepStrictEqual(bytes(b4), [9, 8, 7]);
step("echo binary");

// server → client values
const types = await a.timeout(WAIT).emitWithAck("types");
assert.deepStrictEqual(types, {
  int: 42, neg: -7, float: 1.5, big: 2 ** 40, str: "héllo 😀", yes: true, nil: null,
  arr: [1, "two", [3]], bin: Buffer.from([1, 2, 3]),
});
step("server values");

// server → client with an acknowledgement
a.once("question", (q, b, ack) => {
  assert.equal(q, "why?");
  assert.deepStrictEqual(bytes(b), [7]);
  ack("because", Buffer.from([1]));
});
const answer = once(a, "answer");
a.emit("ask", "why?");
assert.deepStrictEqual(await answer, ["because"]);
step("server acknowledgement");

// broadcast to a room: both clients, the sender included
const b = io(URL_, opts());
await connected(b);
const room = "r" + Math.random().toString(36).slice(2);
assert.equal(await a.timeout(WAIT).emitWithAck("join", room), "ok");
assert.equal(await b.timeout(WAIT).emitWithAck("join", room), "ok");
const gotA = once(a, "shouted");
const gotB = once(b, "shouted");
b.emit("shout", room, 1, "two", { three: Buffer.from([3]) });
for (const got of await Promise.all([gotA, gotB])) {
  assert.equal(got[0], 1);
  assert.equal(got[1], "two");
  assert.ok(Buffer.from([3]).equals(got[2].three));
}
step("broadcast");

// a second namespace on the same connection, with middleware
const refused = io(URL_ + "/chat", opts({ auth: { token: "nope" } }));
const [err] = await once(refused, "connect_error");
assert.equal(err.message, "unauthorized");
assert.deepStrictEqual(err.data, { reason: "bad token" });
refused.close();
const chat = a.io.socket("/chat", { auth: { token: "t0k3n" } }); // connects itself (autoConnect)
await connected(chat);
assert.equal(chat.io, a.io, "multiplexed");
const cid = await chat.timeout(WAIT).emitWithAck("whoami");
assert.equal(cid, chat.id);
assert.deepStrictEqual(await call(chat, "echo", "in /chat", bin), ["in /chat", bin]);
step("second namespace");

if (MODE === "upgrade") {
  if (a.io.engine.transport.name !== "websocket") await once(a.io.engine, "upgrade");
  assert.equal(a.io.engine.transport.name, "websocket");
  assert.deepStrictEqual(await call(a, "echo", "after upgrade", bin), ["after upgrade", bin]);
  step("upgrade");
}

// the server disconnects "/": /chat stays
const [reason] = await (async () => {
  const p = once(a, "disconnect");
  a.emit("kick-me");
  return p;
})();
assert.equal(reason, "io server disconnect");
assert.ok(chat.connected);
chat.disconnect();
b.disconnect();
step("server disconnect");

// a client with the default parser cannot join: its text CONNECT is a
// parse error for the server
const plain = io(URL_, { ...MODES[MODE], forceNew: true, reconnection: false, timeout: WAIT });
const outcome = await Promise.race([
  once(plain, "connect").then(() => "connected"),
  once(plain.io, "close").then(([r]) => "closed: " + r),
  once(plain, "connect_error").then(([e]) => "connect_error: " + e.message),
]);
assert.ok(!plain.connected && outcome !== "connected", outcome);
plain.close();
step("default parser refused (" + outcome + ")");

a.io.engine.close();
process.exit(0);
