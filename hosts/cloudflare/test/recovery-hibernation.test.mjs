// Connection state recovery across the object's eviction: a client on a
// WebSocket joins a room and loses its connection (the engine's transport
// closes, no clean disconnect); another client broadcasts while it is away;
// the object is left idle until workerd evicts it (about 10 s); then the
// client connects again to a new instance and gets its socket back (same
// id, room and data) and every event it missed, once, in order, from the
// recovery store in the object's storage (src/recovery.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { start, sleep, once } from "./mf.mjs";

const WINDOW = 60000;

// the next `ev` whose first argument is `value`
function next(emitter, ev, value, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(ev, on);
      reject(new Error(`timed out waiting for ${ev} ${JSON.stringify(value)}`));
    }, ms);
    function on(...a) {
      if (a[0] !== value) return;
      clearTimeout(timer);
      emitter.off(ev, on);
      resolve(a);
    }
    emitter.on(ev, on);
  });
}

test("a client recovers its socket and missed events after the object was evicted", async (t) => {
  const { url, mf } = await start({ PING_INTERVAL_MS: "25000", PING_TIMEOUT_MS: "10000", RECOVERY_MS: String(WINDOW) });
  t.after(() => mf.dispose());
  const instance = async () => (await fetch(url + "/socket.io/__socketcore/instance")).json();
  const opts = { transports: ["websocket"], forceNew: true, reconnection: false };
  const s = io(url, opts);
  const other = io(url, opts);
  t.after(() => [s, other].forEach((c) => c.close()));
  const news = [];
  s.on("news", (...args) => news.push(args));
  const [[welcome]] = await Promise.all([once(s, "welcome"), once(other, "welcome")]);
  assert.equal(s.recovered, false, "a first connection is not recovered");
  const id = s.id;
  assert.equal(welcome.id, id);
  const room = "team";
  assert.equal(await s.timeout(2000).emitWithAck("join", room), "ok");
  assert.equal(await s.timeout(2000).emitWithAck("data-set", { user: "ann", n: 1 }), "ok");
  const gotBefore = next(s, "news", "before");
  assert.equal(await other.timeout(2000).emitWithAck("broadcast", { room, event: "news", args: ["before"] }), "ok");
  await gotBefore; // the client holds an offset

  // the connection drops: the engine's transport closes, no DISCONNECT
  const disconnected = once(s, "disconnect");
  s.io.engine.close();
  assert.equal((await disconnected)[0], "forced close");
  const deadline = Date.now() + 5000;
  let reason = null;
  while (reason === null && Date.now() < deadline) {
    reason = await other.timeout(2000).emitWithAck("last-reason", id);
    if (reason === null) await sleep(25);
  }
  assert.equal(reason, "transport close", "the server saw the connection drop");

  // while it is away: to its room, to everyone, a binary one, and two it must not get
  const bin = new Uint8Array([1, 2, 3, 250]);
  const sent = [
    { room, args: ["missed-1"] },
    { args: ["missed-2 (everyone)"] },
    { room: "elsewhere", args: ["not for s: other room"] },
    { except: room, args: ["not for s: except its room"] },
    { room, args: ["missed-3 (binary)", bin] },
    { room: [room, "elsewhere"], args: ["missed-4 (two rooms)"] },
  ];
  for (const b of sent) assert.equal(await other.timeout(2000).emitWithAck("broadcast", { ...b, event: "news" }), "ok");
  const before = await instance();
  assert.equal(before.sessions, 1, "only the other client is connected");

  // idle: no event reaches the object until it is evicted
  await sleep(15000);
  const woke = await instance();
  assert.notEqual(woke.instance, before.instance, "the object was not evicted: no hibernation happened");
  assert.equal(woke.restored, 1, "the other client's session restored");

  // the client comes back (it sends its pid and last offset)
  s.connect();
  await once(s, "connect");
  assert.equal(s.recovered, true, "socket.recovered after the object's eviction");
  assert.equal(s.id, id, "same socket id");
  assert.equal(await s.timeout(2000).emitWithAck("recovered?"), true, "the server's socket.recovered");
  assert.deepEqual(await s.timeout(2000).emitWithAck("data-get"), { user: "ann", n: 1 }, "socket.data came back");
  const after = await instance();
  assert.equal(after.instance, woke.instance, "still the instance that woke");

  // the room came back; its broadcast also orders (a replay or a duplicate came before it)
  const gotAfter = next(s, "news", "after");
  assert.equal(await other.timeout(2000).emitWithAck("broadcast", { room, event: "news", args: ["after"] }), "ok");
  await gotAfter;
  const fence = next(s, "fence", "f");
  assert.equal(await other.timeout(2000).emitWithAck("broadcast", { event: "fence", args: ["f"] }), "ok");
  await fence;

  const payloads = news.map((args) => {
    assert.equal(typeof args[args.length - 1], "string", `an offset ends ${JSON.stringify(args)}`);
    return args.slice(0, -1).map((v) => (typeof v === "string" ? v : [...new Uint8Array(v)]));
  });
  assert.deepEqual(payloads, [
    ["before"],
    ["missed-1"],
    ["missed-2 (everyone)"],
    ["missed-3 (binary)", [1, 2, 3, 250]],
    ["missed-4 (two rooms)"],
    ["after"],
  ]);
  const offsets = news.map((args) => args[args.length - 1]);
  assert.equal(new Set(offsets).size, offsets.length, `offsets are distinct: ${offsets.join(" ")}`);
  const st = (await instance()).recovery;
  assert.ok(st && before.recovery, "the instance endpoint reports the recovery store");
  t.diagnostic(`recovery store: ${st.packets} packets (${st.bytes} B) in the log; ` +
    `this instance read ${st.rowsRead} rows, wrote ${st.rowsWritten}; the first instance read ${before.recovery.rowsRead}, wrote ${before.recovery.rowsWritten}`);
});

// drops the connection of s (no DISCONNECT) and waits until the server saw it
async function drop(s, observer) {
  const id = s.id;
  const disconnected = once(s, "disconnect");
  s.io.engine.close();
  assert.equal((await disconnected)[0], "forced close");
  const deadline = Date.now() + 5000;
  for (;;) {
    const reason = await observer.timeout(2000).emitWithAck("last-reason", id);
    if (reason !== null) return assert.equal(reason, "transport close");
    assert.ok(Date.now() < deadline, `the server did not see ${id} leave`);
    await sleep(25);
  }
}

test("the log keeps RECOVERY_MAX_PACKETS packets: a client that missed more gets a fresh socket, one that missed fewer recovers from the log", async (t) => {
  const { url, mf } = await start({
    PING_INTERVAL_MS: "25000", PING_TIMEOUT_MS: "10000", RECOVERY_MS: String(WINDOW), RECOVERY_MAX_PACKETS: "6",
  });
  t.after(() => mf.dispose());
  const instance = async () => (await fetch(url + "/socket.io/__socketcore/instance")).json();
  const opts = { transports: ["websocket"], forceNew: true, reconnection: false };
  const [a, b, other] = [io(url, opts), io(url, opts), io(url, opts)];
  t.after(() => [a, b, other].forEach((c) => c.close()));
  const got = { a: [], b: [] };
  a.on("news", (p) => got.a.push(p));
  b.on("news", (p) => got.b.push(p));
  await Promise.all([once(a, "welcome"), once(b, "welcome"), once(other, "welcome")]);
  const ids = { a: a.id, b: b.id };
  const room = "team";
  for (const s of [a, b]) assert.equal(await s.timeout(2000).emitWithAck("join", room), "ok");
  const say = async (p) => assert.equal(await other.timeout(2000).emitWithAck("broadcast", { room, event: "news", args: [p] }), "ok");
  const bothGot = Promise.all([next(a, "news", "before"), next(b, "news", "before")]);
  await say("before");
  await bothGot;
  await drop(a, other); // a's offset: "before"
  const bGot = next(b, "news", "m2");
  await say("m1");
  await say("m2");
  await bGot;
  await drop(b, other); // b's offset: "m2"
  for (const p of ["m3", "m4", "m5", "m6"]) await say(p); // the log: m1 .. m6
  const st = (await instance()).recovery;
  assert.equal(st.packets, 6, "the log is bounded by RECOVERY_MAX_PACKETS");
  assert.equal(st.logRows, 6, "the log's count (first/next) matches its rows");
  assert.equal(st.bytes, st.logBytes, "the log's size (running totals) matches its rows");

  // a new instance has nothing in memory: the packets come from the log
  const before = await instance();
  await fetch(url + "/socket.io/__socketcore/abort").catch(() => {});
  const woke = await instance();
  assert.notEqual(woke.instance, before.instance, "the instance was dropped");

  b.connect();
  await once(b, "connect");
  assert.equal(b.recovered, true, "b missed 4 packets of the 6 kept: recovered");
  assert.equal(b.id, ids.b);
  a.connect();
  await once(a, "connect");
  assert.equal(a.recovered, false, "a's offset is no longer kept: a fresh socket");
  assert.notEqual(a.id, ids.a);
  const fence = next(b, "news", "after");
  assert.equal(await b.timeout(2000).emitWithAck("broadcast", { room, event: "news", args: ["after"] }), "ok");
  await fence;
  assert.deepEqual(got.b, ["before", "m1", "m2", "m3", "m4", "m5", "m6", "after"]);
  assert.deepEqual(got.a, ["before"], "nothing replayed to a, and no longer in the room");
});

test("saved sessions and logged packets leave the storage with the window (the alarm sweeps them)", async (t) => {
  const window = 2000;
  const { url, mf } = await start({ PING_INTERVAL_MS: "25000", PING_TIMEOUT_MS: "10000", RECOVERY_MS: String(window) });
  t.after(() => mf.dispose());
  const instance = async () => (await fetch(url + "/socket.io/__socketcore/instance")).json();
  const opts = { transports: ["websocket"], forceNew: true, reconnection: false };
  const [s, other] = [io(url, opts), io(url, opts)];
  t.after(() => [s, other].forEach((c) => c.close()));
  await Promise.all([once(s, "welcome"), once(other, "welcome")]);
  const id = s.id;
  assert.equal(await s.timeout(2000).emitWithAck("join", "team"), "ok");
  await drop(s, other);
  assert.equal(await other.timeout(2000).emitWithAck("broadcast", { room: "team", event: "news", args: ["missed"] }), "ok");
  let st = (await instance()).recovery;
  assert.deepEqual(st.sessions, { live: 1, saved: 1 });
  assert.ok(st.logRows > 0);
  // a sweep at most a second after the window: polled, bounded
  const deadline = Date.now() + window + 10000;
  while ((st.sessions.saved > 0 || st.logRows > 0) && Date.now() < deadline) {
    await sleep(250);
    st = (await instance()).recovery;
  }
  assert.deepEqual(st.sessions, { live: 1, saved: 0 }, "the saved session was swept");
  assert.equal(st.logRows, 0, "the packets were swept");
  assert.equal(st.packets, 0);
  s.connect();
  await once(s, "connect");
  assert.equal(s.recovered, false, "past the window: a fresh socket");
  assert.notEqual(s.id, id);
});
