// Connection state recovery (APP.md, "Recovery mode"). Runs only against a
// server started with SIO_RECOVERY_MS (the runners pass the same value here);
// otherwise every test is skipped. With recovery on, the server appends an
// offset to the arguments of every event without ack, so each "news" event
// arrives as [payload, offset]: the tests assert on the payload and only check
// that the offset is a string.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WAIT, clients, waitFor, waitConnect, ask, collect, eventually, settled, sleep, uid } from "./helpers.mjs";

/** The server's maxDisconnectionDuration (ms); 0 when the server runs without recovery. */
const WINDOW = Number(process.env.SIO_RECOVERY_MS ?? 0);
const skip = WINDOW > 0 ? false : "needs a server with connection state recovery: run with SIO_RECOVERY_MS (APP.md)";
const T = { timeout: 30000, skip };

/**
 * Test 1 relies on the client's own reconnection. It reconnects RECONNECT ms
 * after the drop: long enough for the other client to send the missed
 * broadcasts first, short enough to be back well within the window.
 */
const RECONNECT = Math.round(WINDOW / 2);

/** Polls "last-reason" (through `observer`) until the server has recorded a disconnect reason for `id`. */
function serverReason(observer, id) {
  return eventually(() => ask(observer, "last-reason", id), WAIT, 25, `the server-side disconnect of ${id}`);
}

/** The payloads of collected "news" events; checks that each carries a string offset as its last argument. */
function payloads(news) {
  for (const args of news) {
    assert.equal(args.length, 2, `"news" should arrive as [payload, offset], got ${JSON.stringify(args)}`);
    assert.equal(typeof args[1], "string", `offset of ${JSON.stringify(args)}`);
  }
  return news.map((args) => args[0]);
}

/**
 * Connects a sender `other` and the client `s` to `nsp`, gives `s` some socket.data
 * and a room, and has it receive one broadcast, so that the client holds an
 * offset. Returns what the test checks afterwards.
 */
async function prepare(c, nsp, opts) {
  const room = `room-${uid()}`;
  const other = (await c.connect(nsp)).socket;
  const { socket: s, welcome } = await c.connect(nsp, opts);
  await settled(s);
  assert.equal(welcome.id, s.id);
  assert.equal(s.recovered, false, "a first connection is not recovered");
  assert.equal(await ask(s, "recovered?"), false);
  const news = collect(s, "news");
  const data = { user: "ann", n: 1, tags: ["a", "b"] };
  assert.equal(await ask(s, "data-set", data), "ok");
  assert.deepEqual(await ask(s, "data-get"), data);
  assert.equal(await ask(s, "join", room), "ok");
  const before = waitFor(s, "news");
  assert.equal(await ask(other, "broadcast", { room, event: "news", args: ["before"] }), "ok");
  await before;
  assert.deepEqual(payloads(news), ["before"]);
  return { s, other, room, news, data, id: s.id };
}

/** Waits until every event broadcast earlier in `nsp` has reached `s`: a broadcast to everyone is a fence. */
async function fenceTo(other, s) {
  const token = `fence-${uid()}`;
  const arrived = waitFor(s, "fence", WAIT, (x) => x === token);
  assert.equal(await ask(other, "broadcast", { event: "fence", args: [token] }), "ok");
  await arrived;
}

for (const where of ["/", "dynamic namespace"]) {
  test(`recovery (${where}): a client whose transport drops gets its socket back — id, data, rooms — and every missed event once, in order`, T, async (t) => {
    const c = clients(t);
    const nsp = where === "/" ? "/" : `/dyn-${uid()}`;
    const { s, other, room, news, data, id } = await prepare(c, nsp, {
      reconnection: true,
      reconnectionDelay: RECONNECT,
      reconnectionDelayMax: RECONNECT,
      randomizationFactor: 0,
    });
    const m = s.io;
    let attemptedAt = 0;
    m.on("reconnect_attempt", () => (attemptedAt ||= Date.now()));
    const reconnected = waitFor(m, "reconnect", RECONNECT + WAIT);
    reconnected.catch(() => {});
    const disconnected = waitFor(s, "disconnect");

    // Drop the transport from the client side: a lost connection, not a
    // deliberate disconnect, so the client reconnects by itself.
    m.engine.close();
    assert.equal((await disconnected)[0], "forced close");
    assert.equal(s.connected, false);
    assert.equal(await serverReason(other, id), "transport close");

    // While it is away: to its room, to everyone, and two it must not get.
    const sent = [
      { room, args: ["missed-1"] },
      { args: ["missed-2 (everyone)"] },
      { room: `elsewhere-${uid()}`, args: ["not for s: other room"] },
      { except: room, args: ["not for s: except its room"] },
      { room, args: [{ k: "missed-3", bin: false }] },
      { room: [room, `elsewhere-${uid()}`], args: ["missed-4 (two rooms)"] },
    ];
    for (const b of sent) {
      assert.equal(await ask(other, "broadcast", { ...b, event: "news" }), "ok");
    }
    const doneAt = Date.now();
    assert.ok(
      attemptedAt === 0,
      `the client started reconnecting ${doneAt - attemptedAt} ms before the missed broadcasts were all sent ` +
        `(reconnectionDelay ${RECONNECT} ms): the machine is too slow for this test's timing`,
    );

    await reconnected;
    await waitConnect(s);
    await settled(s);
    assert.equal(s.recovered, true, "socket.recovered after reconnecting within the window");
    assert.equal(s.id, id, "same socket id");
    assert.equal(await ask(s, "recovered?"), true, "the server's socket.recovered");
    assert.deepEqual(await ask(s, "data-get"), data, "socket.data came back");

    // The room came back: a broadcast to it arrives. It also orders: every
    // replayed event (and any duplicate) would have arrived before it.
    const after = waitFor(s, "news", WAIT, (p) => p === "after");
    assert.equal(await ask(other, "broadcast", { room, event: "news", args: ["after"] }), "ok");
    await after;
    await fenceTo(other, s);
    assert.deepEqual(payloads(news), [
      "before",
      "missed-1",
      "missed-2 (everyone)",
      { k: "missed-3", bin: false },
      "missed-4 (two rooms)",
      "after",
    ]);
    const offsets = news.map((args) => args[1]);
    assert.equal(new Set(offsets).size, offsets.length, `offsets are distinct: ${offsets.join(" ")}`);
  });
}

test("recovery: past the window, the client gets a new socket (recovered false, new id, no data, no rooms, nothing replayed)", T, async (t) => {
  const c = clients(t);
  const nsp = `/dyn-${uid()}`;
  const { s, other, room, news, id } = await prepare(c, nsp, {});
  const disconnected = waitFor(s, "disconnect");
  s.io.engine.close(); // reconnection is off: the test reconnects by hand
  assert.equal((await disconnected)[0], "forced close");
  assert.equal(await serverReason(other, id), "transport close");
  assert.equal(await ask(other, "broadcast", { room, event: "news", args: ["missed"] }), "ok");

  // Deliberate wait: the server noticed the drop just now, so its session
  // expires within WINDOW ms from here.
  await sleep(WINDOW + 500);

  s.connect();
  await waitConnect(s);
  await settled(s);
  assert.equal(s.recovered, false, "socket.recovered past the window");
  assert.notEqual(s.id, id, "a new socket id");
  assert.equal(await ask(s, "recovered?"), false);
  assert.deepEqual(await ask(s, "data-get"), {}, "socket.data starts afresh");
  assert.equal(await ask(other, "broadcast", { room, event: "news", args: ["after"] }), "ok");
  await fenceTo(other, s);
  assert.deepEqual(payloads(news), ["before"], "nothing replayed, and no longer in the room");
});

test("recovery: a client that disconnects on purpose (socket.disconnect(), then connect()) is not recovered", T, async (t) => {
  const c = clients(t);
  const nsp = `/dyn-${uid()}`;
  const { s, other, room, news, id } = await prepare(c, nsp, {});
  s.disconnect();
  assert.equal(await serverReason(other, id), "client namespace disconnect");
  assert.equal(await ask(other, "broadcast", { room, event: "news", args: ["missed"] }), "ok");

  s.connect(); // within the window; the client still sends its pid and offset
  await waitConnect(s);
  await settled(s);
  assert.equal(s.recovered, false, "socket.recovered after a deliberate disconnect");
  assert.notEqual(s.id, id, "a new socket id");
  assert.equal(await ask(s, "recovered?"), false);
  assert.deepEqual(await ask(s, "data-get"), {}, "socket.data starts afresh");
  assert.equal(await ask(other, "broadcast", { room, event: "news", args: ["after"] }), "ok");
  await fenceTo(other, s);
  assert.deepEqual(payloads(news), ["before"], "nothing replayed, and no longer in the room");
});
