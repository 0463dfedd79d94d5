// A broadcast to many clients: 150 WebSocket and 20 polling clients of the
// official client in one room of one object; 20 broadcasts reach every
// member once, in order. Prints the delivery rate (not asserted).
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { start, APP_VARS } from "./mf.mjs";

const WS = 150;
const POLLING = 20;
const MESSAGES = 20;

test(`a broadcast reaches ${WS + POLLING} clients`, async (t) => {
  const { url, mf } = await start({ ...APP_VARS, PING_INTERVAL_MS: "5000", PING_TIMEOUT_MS: "5000" });
  t.after(() => mf.dispose());
  const room = "crowd";
  const clients = [];
  t.after(() => clients.forEach((s) => s.close()));
  const got = [];
  const joins = [];
  for (let i = 0; i < WS + POLLING; i++) {
    const s = io(url, { transports: [i < WS ? "websocket" : "polling"], forceNew: true, reconnection: false });
    clients.push(s);
    got.push([]);
    s.on("tick", (n) => got[i].push(n));
    joins.push(
      new Promise((resolve, reject) => {
        s.once("welcome", () => s.timeout(10000).emitWithAck("join", room).then(resolve, reject));
        s.once("connect_error", reject);
      }),
    );
  }
  await Promise.all(joins);
  const sender = clients[0];
  const t0 = performance.now();
  for (let n = 0; n < MESSAGES; n++) {
    assert.equal(await sender.timeout(5000).emitWithAck("broadcast", { room, event: "tick", args: [n] }), "ok");
  }
  const want = Array.from({ length: MESSAGES }, (_, n) => n);
  const deadline = Date.now() + 15000;
  while (got.some((g) => g.length < MESSAGES) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const ms = performance.now() - t0;
  for (let i = 0; i < got.length; i++) assert.deepEqual(got[i], want, `client ${i} (${i < WS ? "websocket" : "polling"})`);
  t.diagnostic(`${MESSAGES} broadcasts × ${clients.length} clients delivered in ${ms.toFixed(0)} ms ` +
    `(${Math.round((MESSAGES * clients.length) / (ms / 1000))} deliveries/s, miniflare, one object)`);
});
