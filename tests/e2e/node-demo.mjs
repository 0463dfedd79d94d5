// Node reference for the demo chat server (see APP.md, "Demo"). Serves the demo
// page from hosts/native/cmd/socketcore/web/ so it can be tried by hand:
//   PORT=8080 node tests/e2e/node-demo.mjs   → open http://127.0.0.1:8080/
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { Server } from "socket.io";

const webRoot = fileURLToPath(new URL("../../hosts/native/cmd/socketcore/web/", import.meta.url));
const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };

const httpServer = createServer(async (req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  const rel = normalize(path === "/" ? "index.html" : path.slice(1));
  if (rel.startsWith("..")) {
    res.writeHead(400).end();
    return;
  }
  try {
    const body = await readFile(join(webRoot, rel));
    res.writeHead(200, { "content-type": types[extname(rel)] ?? "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }
});

// serveClient (default true) serves /socket.io/socket.io.js from node_modules.
const io = new Server(httpServer);

function nameOf(socket) {
  const n = socket.handshake.auth?.name;
  return typeof n === "string" && n.trim() ? n.trim().slice(0, 32) : `guest-${socket.id.slice(0, 4)}`;
}

io.on("connection", (socket) => {
  io.emit("presence", { count: io.of("/").sockets.size });
  socket.on("chat", (text) => {
    if (typeof text !== "string" || !text.trim()) return;
    io.emit("chat", { from: nameOf(socket), text: text.slice(0, 500), at: Date.now() });
  });
  socket.on("disconnect", () => {
    io.emit("presence", { count: io.of("/").sockets.size });
  });
});

httpServer.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
