// The demo page of `make run` (hosts/native/cmd/socketcore/web), which
// loads the SDK from /sdk/, in headless Chromium against the socketcore
// binary SDK_DEMO_SERVER names (go build ./hosts/native/cmd/socketcore):
// two pages connect, upgrade, and chat. What the pages show is asserted.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { ROOT } from "./servers.mjs";
import { launchChromium } from "./chromium.mjs";

let demo, chromium, url;

/** Starts `socketcore serve` on a free port; resolves its base URL (10 s bound). */
function startDemo() {
  const bin = process.env.SDK_DEMO_SERVER;
  if (!bin) throw new Error("SDK_DEMO_SERVER must name a built socketcore (go build ./hosts/native/cmd/socketcore)");
  const p = spawn(bin, ["serve", "--addr", "127.0.0.1:0"], { cwd: ROOT, stdio: ["ignore", "inherit", "pipe"] });
  let exited = false;
  const gone = new Promise((r) => p.on("exit", () => ((exited = true), r())));
  demo = { stop: async () => (exited || p.kill("SIGKILL"), await gone) };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("socketcore did not listen within 10 s")), 10000);
    let err = "";
    p.stderr.on("data", (d) => {
      err += d;
      process.stderr.write(d);
      // the command's slog line: msg="socketcore: serving Socket.IO" url=... demo=http://HOST/
      const m = /serving Socket\.IO" .*demo=(http:\/\/\S+?)\/?(\s|$)/.exec(err);
      if (m) (clearTimeout(timer), resolve(m[1]));
    });
    p.on("exit", (code) => (clearTimeout(timer), reject(new Error(`socketcore exited (${code}): ${err}`))));
  });
}

before(async () => {
  url = await startDemo();
  chromium = await launchChromium();
});
after(async () => {
  await chromium?.close();
  await demo?.stop();
});

test("demo page: two pages on the SDK connect, upgrade and chat", { timeout: 60000 }, async (t) => {
  const pages = [];
  for (let i = 0; i < 2; i++) {
    const ctx = await chromium.newContext();
    t.after(() => ctx.close());
    const page = await ctx.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    t.after(() => assert.deepEqual(errors, [], "uncaught errors in the demo page"));
    await page.goto(`${url}/`);
    pages.push(page);
  }
  const [a, b] = pages;
  for (const p of pages) {
    await p.waitForFunction(() => document.getElementById("state").textContent === "connected", null, { timeout: 10000 });
    await p.waitForFunction(() => document.getElementById("transport").textContent === "websocket", null, { timeout: 10000 });
    await p.waitForFunction(() => document.getElementById("presence").textContent === "2 online", null, { timeout: 10000 });
  }
  await a.fill("#name", "ann");
  await a.press("#name", "Enter");
  await a.waitForFunction(() => /you are now ann/.test(document.getElementById("messages").textContent), null, { timeout: 10000 });
  await a.waitForFunction(() => document.getElementById("state").textContent === "connected", null, { timeout: 10000 });
  await a.fill("#text", "hello from the SDK");
  await a.press("#text", "Enter");
  const seen = (p) =>
    p.waitForFunction(
      () => [...document.querySelectorAll("#messages .msg")].map((li) => [li.querySelector("b").textContent, li.querySelector(".text").textContent]),
      null,
      { timeout: 10000 },
    );
  for (const p of pages) {
    await p.waitForFunction(() => document.querySelectorAll("#messages .msg").length > 0, null, { timeout: 10000 });
    const msgs = await (await seen(p)).jsonValue();
    assert.deepEqual(msgs, [["ann", "hello from the SDK"]]);
  }
  assert.equal(await a.evaluate(() => document.querySelector("#messages .msg").classList.contains("mine")), true);
  assert.equal(await b.evaluate(() => document.querySelector("#messages .msg").classList.contains("mine")), false);
});
