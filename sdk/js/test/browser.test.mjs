// The SDK in a real browser: Debian's Chromium (/usr/bin/chromium, headless)
// driven by playwright-core, loading the test page from test/static.mjs,
// against the server SDK_SERVER names (go: the Go e2e app, node: Node's
// socket.io), in every transport mode: connect, chat between two pages,
// binary (ArrayBuffer, Uint8Array, Blob) both ways, reconnection after the
// server restarts. What the page reports (window.T, test/browser/page.js)
// is what the tests assert on.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, restartServer } from "./servers.mjs";
import { startStatic } from "./static.mjs";
import { launchChromium } from "./chromium.mjs";

const MODES = {
  websocket: { transports: ["websocket"], upgrade: false },
  polling: { transports: ["polling"], upgrade: false },
  upgrade: { transports: ["polling", "websocket"] },
};
const T = { timeout: 60000 };

let server, web, chromium;
before(async () => {
  server = await startServer();
  web = await startStatic();
  chromium = await launchChromium();
});
after(async () => {
  await chromium?.close();
  await web?.close();
  await server?.stop();
});
const sio = () => `http://127.0.0.1:${server.port}`;

/** A fresh page (its own browser context) with the SDK's test page loaded; closed after the test. */
async function openPage(t) {
  const ctx = await chromium.newContext();
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  t.after(() => assert.deepEqual(errors, [], "uncaught errors in the page"));
  await page.goto(`${web.url}/page.html?client=sdk`);
  await page.waitForFunction(() => window.T !== undefined, null, { timeout: 10000 });
  return page;
}
const call = (page, fn, ...args) => page.evaluate(([fn, args]) => window.T[fn](...args), [fn, args]);

for (const [mode, opts] of Object.entries(MODES)) {
  test(`browser (${mode}): connect`, T, async (t) => {
    const page = await openPage(t);
    const c = await call(page, "open", "a", `${sio()}/`, { ...opts, auth: { who: "chromium" } }, mode === "upgrade");
    assert.match(c.id, /^[\w-]{8,}$/);
    assert.equal(c.transport, mode === "polling" ? "polling" : "websocket");
    const [[welcome]] = await call(page, "got", "a", "welcome");
    assert.deepEqual({ id: welcome.id, nsp: welcome.nsp, auth: welcome.auth }, { id: c.id, nsp: "/", auth: { who: "chromium" } });
    assert.equal(await call(page, "ask", "a", "echo", "hé 🙂"), "hé 🙂");
  });

  test(`browser (${mode}): chat between two pages`, T, async (t) => {
    const [a, b] = await Promise.all([openPage(t), openPage(t)]);
    const room = `chat-${Math.random().toString(36).slice(2)}`;
    await Promise.all([call(a, "open", "me", `${sio()}/`, opts), call(b, "open", "me", `${sio()}/`, opts)]);
    assert.equal(await call(a, "ask", "me", "join", room), "ok");
    assert.equal(await call(b, "ask", "me", "join", room), "ok");
    assert.equal(await call(a, "ask", "me", "broadcast", { room, event: "chat", args: [{ from: "a", text: "hello b" }] }), "ok");
    assert.equal(await call(b, "ask", "me", "broadcast", { room, event: "chat", args: [{ from: "b", text: "hi a" }] }), "ok");
    const want = [[{ from: "a", text: "hello b" }], [{ from: "b", text: "hi a" }]];
    assert.deepEqual(await call(a, "got", "me", "chat", 2), want);
    assert.deepEqual(await call(b, "got", "me", "chat", 2), want);
  });

  test(`browser (${mode}): binary both ways — ArrayBuffer, Uint8Array, Blob`, T, async (t) => {
    const page = await openPage(t);
    await call(page, "open", "a", `${sio()}/`, opts);
    const r = await call(page, "binary", "a");
    // what the server sends back arrives as ArrayBuffer, as from socket.io-client in a browser
    const ab = (...bytes) => ({ bin: "ArrayBuffer", bytes });
    assert.deepEqual(r.arrayBuffer, ab(1, 2, 3));
    assert.deepEqual(r.uint8Array, ab(4, 5, 6));
    assert.deepEqual(r.blob, ab(7, 8, 57));
    assert.deepEqual(r.nested, { a: [ab(2, 1)], b: ab(120, 121), c: "text" });
    assert.deepEqual(r.events, [["first"], [ab(255, 0)], ["last"]]);
  });

  test(`browser (${mode}): reconnection after the server restarts`, T, async (t) => {
    const page = await openPage(t);
    const first = await call(page, "open", "a", `${sio()}/`, opts);
    await server.stop();
    const [[reason]] = await call(page, "got", "a", "disconnect");
    assert.ok(["transport close", "transport error"].includes(reason), reason);
    server = await restartServer(server.port);
    await call(page, "got", "a", "io:reconnect", 1, 15000);
    await call(page, "got", "a", "connect", 2);
    const now = await call(page, "state", "a");
    assert.equal(now.connected, true);
    assert.notEqual(now.id, first.id, "a new session after the restart");
    assert.equal(await call(page, "ask", "a", "echo", "after"), "after");
  });
}
