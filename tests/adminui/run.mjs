// The official Socket.IO Admin UI against socketcore, in headless Chromium
// (make test-adminui).
//
// The page is the UI's own build, the ui/dist folder of the npm package
// @socket.io/admin-ui (the same page as https://admin.socket.io), served
// from another origin than the server, as the hosted UI is. The server is
// the socketcore command (serve --admin, its basic auth and its CORS for
// the UI's origin). The test fills the UI's connection form, connects
// official socket.io-client sockets, and checks in the page that the UI
// lists them, their rooms, their events and the server; then it uses the
// UI's own buttons to make a socket join a room, leave it, and disconnect
// another, and checks on the client side that each happened (a broadcast
// to the room reaches the socket while it is in it, the socket gets
// "io server disconnect").
//
// Env: ADMINUI_SERVER, a built hosts/native/cmd/socketcore (default: built
// here with `go build`). Needs /usr/bin/chromium (apt-get install -y
// chromium) and `npm ci` in this directory and at the repository's root.
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { readFile, access, mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, extname, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..", "..");
const CHROMIUM = "/usr/bin/chromium";
const USER = "admin";
const PASSWORD = "changeit";
const SERVER_ID = "socketcore-adminui-test";
const DEADLINE_MS = 150_000;

const cleanups = [];
let failContext = () => "";
let serverLog = ""; // the server's stderr, shown on failure
const fail = (msg) => {
  console.error(`\nadmin UI test FAILED: ${msg}`);
  process.exitCode = 1;
};
const step = (msg) => console.log(`adminui: ${msg}`);

// ---- what the test needs, or what to install ---------------------------------------------------

async function need(path, install) {
  try {
    await access(path);
  } catch {
    throw new Error(`${path} is missing: ${install}`);
  }
}

async function prerequisites() {
  await need(CHROMIUM, "install Debian's Chromium (apt-get install -y chromium; make test-adminui does)");
  await need(join(HERE, "node_modules/@socket.io/admin-ui/ui/dist/index.html"),
    "run `PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci` in tests/adminui (make test-adminui does)");
  await need(join(HERE, "node_modules/playwright-core"), "run `PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci` in tests/adminui");
  await need(join(ROOT, "node_modules/socket.io-client"), "run `npm ci` at the repository's root");
}

// ---- the socketcore server ---------------------------------------------------------------------

async function serverBinary() {
  if (process.env.ADMINUI_SERVER) return process.env.ADMINUI_SERVER;
  const dir = await mkdtemp(join(tmpdir(), "socketcore-adminui-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const bin = join(dir, "socketcore");
  step("building the socketcore command");
  execFileSync("go", ["build", "-o", bin, "./hosts/native/cmd/socketcore"], { cwd: ROOT, stdio: "inherit" });
  return bin;
}

/** Starts `socketcore serve --admin ...` on a free port; resolves its base URL. */
async function startServer(bin, hash, uiOrigin, uiDir) {
  const args = ["serve", "--addr", "127.0.0.1:0", "--log-format", "json", "--client-js", "", "--sdk", "",
    "--admin", "--admin-user", USER, "--admin-ui-origin", uiOrigin, "--admin-server-id", SERVER_ID, "--admin-ui-dir", uiDir];
  const p = spawn(bin, args, {
    cwd: ROOT,
    env: { ...process.env, SOCKETCORE_ADMIN_PASSWORD_HASH: hash },
    stdio: ["ignore", "inherit", "pipe"],
  });
  cleanups.push(() => new Promise((resolve) => {
    if (p.exitCode !== null) return resolve();
    p.once("exit", resolve);
    p.kill("SIGKILL");
  }));
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`the server did not start within 15s:\n${buf}`)), 15000);
    p.on("exit", (code) => reject(new Error(`the server exited (${code}):\n${buf}`)));
    p.stderr.on("data", (d) => {
      buf += d;
      serverLog = (serverLog + d).slice(-20000);
      for (const line of buf.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          const rec = JSON.parse(line);
          if (rec.msg === "socketcore: serving Socket.IO" && rec.url) {
            clearTimeout(timer);
            resolve(new URL(rec.url).origin);
          }
        } catch {}
      }
    });
  });
}

// ---- the UI's page, from another origin ---------------------------------------------------------

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml", ".map": "application/json" };

async function startStatic(dir) {
  const srv = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    try {
      const body = await readFile(join(dir, path === "/" ? "index.html" : path));
      res.writeHead(200, { "content-type": TYPES[extname(path) || ".html"] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise((r) => srv.close(r)));
  return `http://127.0.0.1:${srv.address().port}`;
}

// ---- official clients -------------------------------------------------------------------------

const { io } = createRequire(join(ROOT, "package.json"))("socket.io-client");

/** Connects an official client; resolves it once connected, recording what it gets. */
function client(url, nsp, opts = {}) {
  const s = io(url + nsp, { forceNew: true, reconnection: false, ...opts });
  s.got = [];
  s.disconnects = [];
  s.onAny((...args) => s.got.push(args));
  s.on("disconnect", (reason) => s.disconnects.push(reason));
  cleanups.push(() => s.close());
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", (e) => reject(new Error(`${nsp}: connect_error ${e.message}`)));
  });
}

async function until(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- the test ---------------------------------------------------------------------------------

async function main() {
  await prerequisites();
  const require = createRequire(import.meta.url);
  const bcrypt = require("bcryptjs"); // @socket.io/admin-ui's own dependency
  const { chromium } = await import("playwright-core");

  const dist = join(HERE, "node_modules/@socket.io/admin-ui/ui/dist");
  const ui = await startStatic(dist);
  const sio = await startServer(await serverBinary(), bcrypt.hashSync(PASSWORD, 4), ui, dist);
  step(`server ${sio}, the UI's page ${ui}`);

  const profile = await mkdtemp(join(tmpdir(), "socketcore-adminui-chromium-"));
  cleanups.push(() => rm(profile, { recursive: true, force: true }));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, timeout: 30000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  cleanups.push(() => ctx.close()); // (cleanups run in reverse: the browser before its profile)
  // the page loads Roboto and the Material Design icons from CDNs: not here
  await ctx.route((url) => url.hostname !== "127.0.0.1", (route) => route.abort());
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(15000);
  const text = () => page.evaluate(() => document.body.innerText);
  const shows = (what, ...needles) => until(`the UI to show ${what} (${needles.join(", ")})`, async () => {
    const t = await text();
    lastText = t;
    return needles.every((n) => t.includes(n));
  });
  let lastText = "";
  failContext = () => `the page's text was:\n${lastText}`;

  // a, before the UI connects: in its all_sockets (which selects "/")
  const a = await client(sio, "/", { transports: ["websocket"], auth: { name: "ann" } });

  // 1. the connection form: wrong password first, then the right one
  await page.goto(`${ui}/`);
  await page.getByLabel("Server URL").fill(sio);
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Password").fill("wrong");
  await page.getByRole("button", { name: "Connect" }).click();
  await shows("the refusal", "Invalid credentials");
  step("a wrong password: the UI says Invalid credentials");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Connect" }).click();
  await until("the connection form to close", async () => !(await page.getByLabel("Password").isVisible()));
  step("connected with the right password");
  // the UI keeps the session id it got ("session") and reconnects with it
  await page.reload();
  await shows("the reconnection with the session id", "CONNECTED");
  if (await page.getByLabel("Password").isVisible()) throw new Error("the UI asks for the password again after a reload");
  step("reloaded: the UI reconnected with its session id, no password asked");

  // 2. two official clients on "/": a (WebSocket) connected before the UI, b (polling) after
  const b = await client(sio, "/", { transports: ["polling"], auth: { name: "bob" } }); // told live (socket_connected)
  a.emit("chat", "hello from ann");
  step(`clients ${a.id} (websocket) and ${b.id} (polling)`);

  await page.goto(`${ui}/#/sockets/`);
  await shows("the sockets", a.id, b.id, "WebSocket", "HTTP long-polling");
  step("Sockets page: both sockets, with their transports");

  await page.goto(`${ui}/#/rooms/?p=1`);
  await shows("the sockets' own rooms", a.id, b.id);
  step("Rooms page (private rooms shown): each socket's own room");

  await page.goto(`${ui}/#/events/`);
  await shows("the events", "chat", "Connection");
  step("Events page: the connections and the chat event");

  await page.goto(`${ui}/#/servers/`);
  await shows("the server", SERVER_ID);
  step("Servers page: this server's server_stats");

  // 3. the UI makes a joins a room: the Join form of its socket page
  const probe = await client(sio, "/admin", { auth: { username: USER, password: PASSWORD } }); // a second admin, to broadcast probes
  let probes = 0;
  const probeRoom = async () => { // is a in vip now?
    const n = ++probes;
    probe.emit("emit", "/", "vip", "probe", n); // instrument()'s EMIT: io.of("/").in("vip").emit(...)
    probe.emit("emit", "/", a.id, "probe", -n); // then to a alone: it comes after the first, if that came
    await until(`a's probe ${-n}`, () => a.got.some(([e, v]) => e === "probe" && v === -n));
    return a.got.some(([e, v]) => e === "probe" && v === n);
  };
  if (await probeRoom()) throw new Error("a got a broadcast to vip before it joined");

  await page.goto(`${ui}/#/n/${encodeURIComponent("/")}/sockets/${a.id}`);
  await shows("a's details", a.id, "WebSocket");
  const joinInput = page.getByLabel("Join a room");
  await joinInput.fill("vip");
  await page.locator("form", { has: joinInput }).locator("button[type=submit]").click();
  await shows("a in vip", "vip");
  await until("a to get the broadcast to vip", () => probeRoom());
  if (b.got.some(([e]) => e === "probe")) throw new Error("b got a broadcast to vip");
  step("UI join: a is in vip (a broadcast to vip reaches it, not b)");

  // 4. ... and leave it: the leave button of the room's row
  await page.locator("tr", { hasText: "vip" }).locator("button").click(); // (the click also opens the room's page)
  await until("a to miss a broadcast to vip", async () => !(await probeRoom()));
  await page.goto(`${ui}/#/n/${encodeURIComponent("/")}/sockets/${a.id}`);
  await shows("a's details", a.id, "Join a room");
  if ((await text()).includes("vip")) throw new Error("the UI still shows a in vip");
  step("UI leave: a is no longer in vip");

  // 5. disconnect b: the logout button of its row on the Sockets page
  await page.goto(`${ui}/#/sockets/`);
  await shows("b", b.id);
  await page.locator("tr", { hasText: b.id }).locator("button").click();
  await until("b's disconnection", () => b.disconnects.length > 0);
  if (b.disconnects[0] !== "io server disconnect") throw new Error(`b disconnected with ${b.disconnects[0]}`);
  await until("b to leave the Sockets page", async () => !(await text()).includes(b.id));
  if (a.disconnects.length) throw new Error(`a disconnected too: ${a.disconnects}`);
  step("UI disconnect: b got io server disconnect, and left the list");

  // 6. the same page served by socketcore itself (--admin-ui-dir, at /admin/): same origin
  const own = await ctx.newPage();
  own.on("pageerror", (e) => pageErrors.push(e.message));
  await own.goto(`${sio}/admin/`);
  await own.getByLabel("Server URL").fill(sio);
  await own.getByLabel("Username").fill(USER);
  await own.getByLabel("Password").fill(PASSWORD);
  await own.getByRole("button", { name: "Connect" }).click();
  await own.goto(`${sio}/admin/#/sockets/`);
  await until("the same-origin UI to list a", async () => (await own.evaluate(() => document.body.innerText)).includes(a.id));
  step("the UI served by socketcore (--admin-ui-dir, same origin) lists a");

  if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
}

const timer = setTimeout(() => {
  fail(`not done within ${DEADLINE_MS / 1000}s`);
  process.exit(1);
}, DEADLINE_MS);
try {
  await main();
  console.log("\nadmin UI test passed");
} catch (e) {
  fail(`${e.stack ?? e}\n${failContext()}\nthe server's log (its end):\n${serverLog}`);
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {}
  }
  clearTimeout(timer);
}
