// The static server of the browser tests and the connect-time measurement:
// the test page (generated: one shape for both clients), the built SDK
// (sdk/js/dist at /sdk/), the page's helpers (test/browser at /test/) and
// the official client's bundle (/official/socket.io.min.js). The Socket.IO
// server is another origin (the e2e apps allow any: CORS "*").
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT } from "./servers.mjs";

const SDK = fileURLToPath(new URL("../", import.meta.url));
const DIRS = {
  "/sdk/": join(SDK, "dist"),
  "/test/": join(SDK, "test", "browser"),
  "/official/": join(ROOT, "node_modules", "socket.io-client", "dist"),
};
const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".html": "text/html; charset=utf-8", ".map": "application/json" };

/**
 * The test page. client "sdk": the SDK as an ES module; "official": the
 * official bundle as a classic script (each as its documentation loads
 * it). With ?connect=<url>[&opts=<json>] the page connects at once and
 * records performance.now() at "connect" in window.connectedAt.
 */
export function page(client) {
  const load =
    client === "official"
      ? `<script src="/official/socket.io.min.js"></script>\n<script type="module">\nconst io = window.io;`
      : `<script type="module">\nimport { io } from "/sdk/index.js";`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>socketcore browser test (${client})</title></head>
<body>
${load}
import { install } from "/test/page.js";
install(io);
</script>
</body></html>
`;
}

/** Starts the static server on 127.0.0.1 (any port); resolves {url, close()}. */
export function startStatic() {
  const server = createServer(async (req, res) => {
    const u = new URL(req.url, "http://x");
    if (u.pathname === "/page.html") {
      res.writeHead(200, { "content-type": TYPES[".html"], "cache-control": "no-store" });
      return res.end(page(u.searchParams.get("client") ?? "sdk"));
    }
    const prefix = Object.keys(DIRS).find((p) => u.pathname.startsWith(p));
    const rel = prefix && normalize(u.pathname.slice(prefix.length));
    if (!prefix || rel.startsWith("..")) {
      res.writeHead(404);
      return res.end();
    }
    try {
      const body = await readFile(join(DIRS[prefix], rel));
      res.writeHead(200, { "content-type": TYPES[extname(rel)] ?? "application/octet-stream", "cache-control": "max-age=600" });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))),
      });
    });
  });
}
