// One-run latency and broadcast throughput against any server of the e2e app
// (tests/e2e/APP.md): node hosts/wasi/test/bench.mjs URL [websocket|polling]
// Round trip: 300 sequential echo acks (p50/p99). Broadcast: 10 clients in a
// room, 1000 broadcasts from one of them, deliveries/s until all arrived (or
// 30 s). Exits non-zero when an ack is lost (5 s) or a connect fails.
import { io } from "socket.io-client";
const [url, mode = "websocket"] = process.argv.slice(2);
const transports = [mode];
const conn = (nsp) => new Promise((res, rej) => {
  const s = io(url + nsp, { transports, forceNew: true, reconnection: false, timeout: 5000 });
  s.once("connect", () => res(s)); s.once("connect_error", rej);
});
const nsp = "/dyn-bench" + Date.now().toString(36);
const a = await conn(nsp);
const lat = [];
for (let i = 0; i < 300; i++) { const t = process.hrtime.bigint(); await a.timeout(5000).emitWithAck("echo", i); lat.push(Number(process.hrtime.bigint() - t) / 1e6); }
lat.sort((x, y) => x - y);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2);
const N = 10, B = 1000;
const socks = await Promise.all(Array.from({ length: N }, () => conn(nsp)));
for (const s of socks) await s.timeout(5000).emitWithAck("join", "room");
// one more request per client after its join, as a client that has been in
// its room a while has made (the WASI handler uses a room's GRIP channel once
// the proxy has read the subscription: hosts/wasi/README.md)
for (const s of socks) await s.timeout(5000).emitWithAck("count");
let got = 0; const want = N * B;
const done = new Promise((res) => socks.forEach((s) => s.on("b", () => { if (++got === want) res(); })));
const t0 = process.hrtime.bigint();
for (let i = 0; i < B; i++) socks[0].emit("broadcast", { room: "room", event: "b", args: [i] });
await Promise.race([done, new Promise((r) => setTimeout(r, 30000))]);
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ url, mode, rtt_ms_p50: q(0.5), rtt_ms_p99: q(0.99), broadcast_deliveries: got, of: want, deliveries_per_s: Math.round(got / secs), secs: secs.toFixed(2) }));
a.close(); socks.forEach((s) => s.close()); process.exit(0);
