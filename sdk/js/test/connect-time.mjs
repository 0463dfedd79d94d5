// Page load → "connect" in headless Chromium: the SDK against the official
// socket.io-client bundle (socket.io.min.js), with the same page shape
// (test/static.mjs), the same Go e2e server and the same browser, loads
// interleaved. The time is the page's performance.now() at the socket's
// "connect" event: milliseconds since the navigation started. Default
// transports (polling, then the upgrade), as a page would use them.
//   cold: every load in a new browser context (empty HTTP and code caches);
//   warm: loads in one context per client, after one unmeasured load.
// Then where the time of a cold load goes (medians, ms since the
// navigation started): for the SDK, core.wasm requested and received
// (Resource Timing), compiled and started (the SDK's performance marks;
// started: instantiated, Go runtime initialised, client role created), the
// Engine.IO handshake request sent, "connect".
// Usage: node connect-time.mjs [loads per client and kind, default 15]
// (make sdk-connect-time). Also prints the sizes the issue budgets.
import { readFile } from "node:fs/promises";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";
import { fileURLToPath } from "node:url";
import { startServer } from "./servers.mjs";
import { startStatic } from "./static.mjs";
import { launchChromium } from "./chromium.mjs";

const N = Math.max(1, Math.min(200, Number(process.argv[2] ?? 15)));
const CLIENTS = ["sdk", "official"];
const sdk = (p) => fileURLToPath(new URL(`../${p}`, import.meta.url));

const server = await startServer();
const web = await startStatic();
const chromium = await launchChromium();
const sioURL = `http://127.0.0.1:${server.port}/`;
const pageURL = (client) => `${web.url}/page.html?client=${client}&connect=${encodeURIComponent(sioURL)}`;

/** One navigation of page to client's page; resolves the ms from navigation start to "connect". */
async function load(page, client) {
  await page.goto(pageURL(client));
  const h = await page.waitForFunction(() => window.connectedAt ?? window.connectError, null, { timeout: 20000, polling: 5 });
  const v = await h.jsonValue();
  if (typeof v !== "number") throw new Error(`${client}: connect_error ${v}`);
  return v;
}

/** The phases of the load page just made (ms since the navigation started; undefined: none). */
function phasesOf(page) {
  return page.evaluate(() => {
    const res = performance.getEntriesByType("resource");
    const wasm = res.find((e) => e.name.endsWith("/core.wasm"));
    const mark = (n) => performance.getEntriesByName(n, "mark")[0]?.startTime;
    return {
      "core.wasm requested": wasm?.startTime,
      "core.wasm received": wasm?.responseEnd,
      "core.wasm compiled": mark("socketcore:core.wasm compiled"),
      "core.wasm started": mark("socketcore:core.wasm started"),
      "handshake sent": res.find((e) => e.name.includes("/socket.io/"))?.startTime,
      connect: window.connectedAt,
    };
  });
}

const times = { cold: { sdk: [], official: [] }, warm: { sdk: [], official: [] } };
const phases = { sdk: [], official: [] };
try {
  const warm = {};
  for (const c of CLIENTS) {
    const ctx = await chromium.newContext();
    warm[c] = { ctx, page: await ctx.newPage() };
    await load(warm[c].page, c); // fills the caches; not measured
  }
  for (let i = 0; i < N; i++) {
    const order = i % 2 ? [...CLIENTS].reverse() : CLIENTS;
    for (const c of order) {
      const ctx = await chromium.newContext();
      try {
        const page = await ctx.newPage();
        times.cold[c].push(await load(page, c));
        phases[c].push(await phasesOf(page));
      } finally {
        await ctx.close();
      }
      times.warm[c].push(await load(warm[c].page, c));
    }
  }
  for (const c of CLIENTS) await warm[c].ctx.close();
} finally {
  await chromium.close();
  await web.close();
  await server.stop();
}

const median = (l) => {
  const s = [...l].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (x) => x.toFixed(1);
console.log(`page load → connect, headless Chromium ${chromium.version}, Go e2e server, ${N} loads each (ms):`);
console.log("kind  client    median    min     max");
for (const kind of ["cold", "warm"]) {
  for (const c of CLIENTS) {
    const l = times[kind][c];
    console.log(`${kind}  ${c.padEnd(8)}  ${f(median(l)).padStart(6)}  ${f(Math.min(...l)).padStart(6)}  ${f(Math.max(...l)).padStart(6)}`);
  }
}
for (const kind of ["cold", "warm"]) {
  for (const c of CLIENTS) console.log(`${kind} ${c}: ${times[kind][c].map(f).join(" ")}`);
}
// the two loads of one round ran next to each other, under about the same
// load of the machine: their ratio is steadier than the medians' ratio
for (const kind of ["cold", "warm"]) {
  const { sdk: s, official: o } = times[kind];
  console.log(`${kind}: SDK ÷ official within each round, median ${median(s.map((x, i) => x / o[i])).toFixed(2)}`);
}
console.log("where a cold load's time goes (medians, ms since the navigation started):");
for (const c of CLIENTS) {
  const names = Object.keys(phases[c][0]).filter((n) => phases[c].every((p) => typeof p[n] === "number"));
  console.log(`  ${c}: ${names.map((n) => `${n} ${f(median(phases[c].map((p) => p[n])))}`).join(", ")}`);
}

const wasm = await readFile(sdk("dist/core.wasm"));
const js = await readFile(sdk("dist/index.js"));
const official = await readFile(fileURLToPath(new URL("../../../node_modules/socket.io-client/dist/socket.io.min.js", import.meta.url)));
const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const gz = (b) => gzipSync(b, { level: 9 }).length;
console.log(`sizes (bytes): core.wasm ${wasm.length} raw, ${gz(wasm)} gzip, ${br(wasm)} brotli; ` +
  `SDK JS (dist/index.js) ${js.length} raw, ${gz(js)} gzip; socket.io.min.js ${official.length} raw, ${gz(official)} gzip`);
