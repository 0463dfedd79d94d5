// Runs the SDK's Node tests (make test-sdk): against the Go e2e app and
// Node's socket.io 4.8.4 app, in every transport mode,
//   - the official e2e suite (tests/e2e/js) with "socket.io-client"
//     resolved to this SDK (alias.mjs), recovery.test.mjs against a
//     recovery-mode server;
//   - the SDK's own tests (sdk.test.mjs: restarts, offline buffer, ...);
//   - the SDK in workerd (workerd.test.mjs: a Worker module in miniflare
//     importing dist/, every mode inside);
//   - the SDK in headless Chromium (browser.test.mjs, every mode inside),
//     and the demo page of `make run` (demo.test.mjs).
// Env: SDK_GO_SERVER (a built tests/e2e/cmd/e2e-server, required),
// SDK_DEMO_SERVER (a built hosts/native/cmd/socketcore, required for the demo),
// SDK_SERVERS ("go node"), SDK_MODES ("websocket polling upgrade"),
// SDK_BROWSER=0 to leave out the browser tests.
// Not run: crowd.test.mjs (a server load test: 200 core.wasm instances in
// one process) and "ping timeout: a client that stops answering pings",
// which patches engine.io-client's private _sendPacket.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ROOT, startServer } from "./servers.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const servers = (process.env.SDK_SERVERS ?? "go node").split(/\s+/).filter(Boolean);
const modes = (process.env.SDK_MODES ?? "websocket polling upgrade").split(/\s+/).filter(Boolean);
const e2e = ["events", "binary", "connect", "disconnect", "rooms"].map((f) => `tests/e2e/js/${f}.test.mjs`);
const nodeArgs = ["--experimental-websocket", "--import", `${here}alias.mjs`, "--test", "--test-concurrency=1"];

function run(args, env) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...nodeArgs, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: "inherit" });
    const timer = setTimeout(() => p.kill("SIGKILL"), 5 * 60 * 1000);
    p.on("exit", (code) => (clearTimeout(timer), resolve(code === 0)));
  });
}

const failed = [];
console.log("\n== sdk: codec against the golden vectors");
if (!(await run([`${here}abi.test.mjs`], {}))) failed.push("abi");
for (const server of servers) {
  process.env.SDK_SERVER = server;
  const app = await startServer();
  const rec = await startServer(0, { SIO_RECOVERY_MS: "2000" });
  try {
    for (const mode of modes) {
      const env = { SIO_TRANSPORTS: mode, SDK_SERVER: server };
      const steps = [
        ["e2e", ["--test-name-pattern=^[a-oq-z]", ...e2e], { ...env, SIO_URL: `http://127.0.0.1:${app.port}` }],
        ["recovery", ["--test-name-pattern=^recovery", "tests/e2e/js/recovery.test.mjs"], { ...env, SIO_URL: `http://127.0.0.1:${rec.port}`, SIO_RECOVERY_MS: "2000" }],
        ["sdk", [`${here}sdk.test.mjs`], env],
      ];
      for (const [name, args, e] of steps) {
        console.log(`\n== sdk: ${name} against the ${server} server, ${mode}`);
        if (!(await run(args, e))) failed.push(`${name}/${server}/${mode}`);
      }
    }
    console.log(`\n== sdk: workerd (miniflare) against the ${server} server`);
    if (!(await run([`${here}workerd.test.mjs`], { SDK_SERVER: server }))) failed.push(`workerd/${server}`);
    if (process.env.SDK_BROWSER !== "0") {
      console.log(`\n== sdk: headless Chromium against the ${server} server`);
      if (!(await run([`${here}browser.test.mjs`], { SDK_SERVER: server }))) failed.push(`browser/${server}`);
    }
  } finally {
    await app.stop();
    await rec.stop();
  }
}
if (process.env.SDK_BROWSER !== "0") {
  console.log("\n== sdk: the demo page in headless Chromium");
  if (!(await run([`${here}demo.test.mjs`], {}))) failed.push("demo");
}
if (failed.length) {
  console.error(`\nsdk tests failed: ${failed.join(", ")}`);
  process.exit(1);
}
console.log("\nsdk tests passed");
