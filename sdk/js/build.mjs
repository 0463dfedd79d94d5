// Builds dist/: the SDK bundled and minified by esbuild (ESM), its types,
// and core.wasm (CORE_WASM, default ../../build/core.wasm from `make wasm`).
import { build } from "esbuild";
import { copyFile, mkdir, stat } from "node:fs/promises";

const here = (p) => new URL(p, import.meta.url);
const wasm = process.env.CORE_WASM ? new URL(process.env.CORE_WASM, `file://${process.cwd()}/`) : here("../../build/core.wasm");
try {
  await stat(wasm);
} catch {
  console.error(`core.wasm not found at ${wasm.pathname}: run make wasm (or make sdk)`);
  process.exit(1);
}
await mkdir(here("dist/"), { recursive: true });
await build({
  entryPoints: [here("src/index.js").pathname],
  outfile: here("dist/index.js").pathname,
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2020",
  minify: true,
  external: ["node:*"],
  legalComments: "none",
  logLevel: "warning",
});
await copyFile(here("src/index.d.ts"), here("dist/index.d.ts"));
await copyFile(wasm, here("dist/core.wasm"));
console.log("sdk/js/dist: index.js, index.d.ts, core.wasm");
