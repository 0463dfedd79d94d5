// Starts the Worker (src/index.js) in miniflare (workerd from npm: no
// account, no network) on 127.0.0.1 with a free port. Not a test file.
import { Miniflare } from "miniflare";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const hostDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = path.resolve(hostDir, "../..");

/** start runs the Worker with vars (strings) and returns {url, mf}. */
export async function start(vars = {}) {
  const wasm = path.join(repoRoot, "build", "core.wasm");
  if (!existsSync(wasm)) throw new Error(`${wasm} is missing: run \`make wasm\` in the repository root`);
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    modules: true,
    modulesRoot: repoRoot,
    scriptPath: path.join(hostDir, "src", "index.js"),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
    durableObjects: { SOCKETIO: { className: "SocketIO", useSQLite: true } },
    bindings: { SOCKETCORE_TEST: "1", ...vars },
  });
  const url = await mf.ready;
  return { url: url.href.replace(/\/$/, ""), mf };
}

/** The e2e contract's options (tests/e2e/APP.md). */
export const APP_VARS = { PING_INTERVAL_MS: "500", PING_TIMEOUT_MS: "2000" };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the arguments of emitter's next ev, or fails after ms. */
export function once(emitter, ev, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${ev}`)), ms);
    emitter.once(ev, (...a) => {
      clearTimeout(timer);
      resolve(a);
    });
  });
}
