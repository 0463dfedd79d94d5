// One run, side by side: round-trip latency (an emit with ack, "echo", one
// WebSocket client, sequential) and broadcast throughput (N WebSocket clients
// in one room, K broadcasts sent back to back) against the native Go server
// (tests/e2e/cmd/e2e-server, the same APP.md application) and against the
// Worker in miniflare (one Durable Object). Usage, from hosts/cloudflare:
//   node bench/bench.mjs [--clients 100] [--broadcasts 100] [--rtt 500]
import { spawn } from "node:child_process";
import { io } from "socket.io-client";
import { start, APP_VARS, repoRoot } from "../test/mf.mjs";

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg("clients", 100);
const K = arg("broadcasts", 100);
const RTT = arg("rtt", 500);

function native() {
  return new Promise((resolve, reject) => {
    const child = spawn("go", ["run", "./tests/e2e/cmd/e2e-server"], { cwd: repoRoot, env: { ...process.env, PORT: "0" }, stdio: ["ignore", "pipe", "inherit"] });
    const timer = setTimeout(() => reject(new Error("native server did not start in 120 s")), 120000);
    let buf = "";
    child.stdout.on("data", (d) => {
      buf += d;
      const m = /listening (\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${m[1]}`, stop: () => child.kill("SIGTERM") });
      }
    });
    child.on("error", reject);
  });
}

const connect = (url, query) =>
  new Promise((resolve, reject) => {
    const s = io(url, { transports: ["websocket"], forceNew: true, reconnection: false, query });
    s.once("welcome", () => resolve(s));
    s.once("connect_error", reject);
    setTimeout(() => reject(new Error("connect timeout")), 10000);
  });

async function measure(url) {
  const s = await connect(url);
  for (let i = 0; i < 50; i++) await s.timeout(5000).emitWithAck("echo", i); // warm up
  const times = [];
  for (let i = 0; i < RTT; i++) {
    const t0 = performance.now();
    await s.timeout(5000).emitWithAck("echo", { i, text: "hello" });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  const room = "bench" + Math.random().toString(36).slice(2);
  const clients = [];
  for (let i = 0; i < N; i += 20) {
    const batch = await Promise.all(Array.from({ length: Math.min(20, N - i) }, () => connect(url)));
    clients.push(...batch);
  }
  await Promise.all(clients.map((c) => c.timeout(10000).emitWithAck("join", room)));
  let got = 0;
  let done;
  const all = new Promise((r) => (done = r));
  for (const c of clients) c.on("tick", () => { if (++got === N * K) done(); });
  const t0 = performance.now();
  const acks = [];
  for (let k = 0; k < K; k++) acks.push(s.timeout(30000).emitWithAck("broadcast", { room, event: "tick", args: [k, "payload of a typical chat message"] }));
  await Promise.race([Promise.all([all, ...acks]), new Promise((_, rej) => setTimeout(() => rej(new Error(`only ${got}/${N * K} deliveries in 60 s`)), 60000))]);
  const secs = (performance.now() - t0) / 1000;
  for (const c of [s, ...clients]) c.close();
  return { p50: q(0.5), p99: q(0.99), deliveries: N * K, secs, rate: (N * K) / secs };
}

const row = (name, r) =>
  console.log(`${name.padEnd(26)} rtt p50 ${(r.p50 * 1000).toFixed(0).padStart(6)} µs  p99 ${(r.p99 * 1000).toFixed(0).padStart(6)} µs   ` +
    `broadcast ${N} clients × ${K}: ${r.rate.toFixed(0).padStart(7)} deliveries/s (${r.secs.toFixed(2)} s)`);

const nat = await native();
let resNative;
try { resNative = await measure(nat.url); } finally { nat.stop(); }
const { url, mf } = await start(APP_VARS);
let resCF;
try { resCF = await measure(url); } finally { await mf.dispose(); }
console.log(`one run, ${new Date().toISOString()}, node ${process.version}`);
row("native (e2e-server)", resNative);
row("cloudflare (miniflare DO)", resCF);
// the clients' and miniflare's handles may outlive the run: the figures are out
process.exit(0);
