// node --import ./alias.mjs: "socket.io-client" resolves to this SDK, so the
// official e2e suite (tests/e2e/js) runs against it unchanged.
// SDK_ENTRY names the entry point (default: the built dist/index.js).
import { register } from "node:module";

const entry = new URL(process.env.SDK_ENTRY ?? "../dist/index.js", import.meta.url).href;
register(
  "data:text/javascript," +
    encodeURIComponent(
      `export async function resolve(spec, ctx, next) {
        if (spec === "socket.io-client") return { url: ${JSON.stringify(entry)}, shortCircuit: true };
        return next(spec, ctx);
      }`,
    ),
);
