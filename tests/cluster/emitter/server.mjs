// A Node Socket.IO server on the classic Redis adapter, with its own
// socket.io-client clients, for the Go emitter's end-to-end test
// (emitter_test.go). Everything it sees is printed on stdout as JSON lines:
//
//   {"type":"ready","port":P,"clients":{"<name>":{"id":"<sid>","nsp":"/"}}}
//   {"type":"event","client":"<name>","event":"<ev>","args":[...]}
//   {"type":"disconnect","client":"<name>","reason":"io server disconnect"}
//   {"type":"serverSideEmit","nsp":"/","args":[...]}   (server-side event "sse")
//   {"type":"error","message":"..."}
//
// Binary arguments are printed as {"$bin":"<base64>","$kind":"Buffer"|"ArrayBuffer"|...}.
//
// Usage: node server.mjs <key> [<clients JSON>]
//   key      the adapter's key (channel prefix); also $SIO_KEY; default "socket.io"
//   clients  [{"name":"c1","nsp":"/","rooms":["r1"]}, ...]; also $SIO_CLIENTS
//   $REDIS_URL  default redis://127.0.0.1:6379
//
// The server joins each socket to the rooms its client asked for (auth.rooms)
// and prints "ready" once every client is connected and the adapter's
// subscriptions of "/" and "/chat" are active (PUBSUB NUMSUB of the request
// channel; the adapter sends its PSUBSCRIBE before that SUBSCRIBE). It exits
// when stdin closes or on SIGTERM.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { io as ioc } from "socket.io-client";

const key = process.argv[2] || process.env.SIO_KEY || "socket.io";
const clientSpecs = JSON.parse(
  process.argv[3] || process.env.SIO_CLIENTS || '[{"name":"c1","nsp":"/","rooms":[]}]',
);
const redisURL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const namespaces = ["/", "/chat"];

const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function plain(v) {
  if (Buffer.isBuffer(v)) return { $bin: v.toString("base64"), $kind: "Buffer" };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("base64"), $kind: "ArrayBuffer" };
  if (ArrayBuffer.isView(v)) {
    return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64"), $kind: v.constructor.name };
  }
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}

const pub = createClient({ url: redisURL });
const sub = pub.duplicate();
for (const c of [pub, sub]) c.on("error", (err) => print({ type: "error", message: String(err) }));
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { key }) });
for (const name of namespaces) {
  const nsp = io.of(name);
  nsp.on("connection", (socket) => {
    const rooms = socket.handshake.auth?.rooms;
    if (Array.isArray(rooms)) socket.join(rooms);
  });
  nsp.on("sse", (...args) => print({ type: "serverSideEmit", nsp: name, args: plain(args) }));
}

await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
const port = httpServer.address().port;

const sockets = [];
const clients = {};
await Promise.all(
  clientSpecs.map(
    (spec) =>
      new Promise((resolve, reject) => {
        const socket = ioc(`http://127.0.0.1:${port}${spec.nsp || "/"}`, {
          transports: ["websocket"],
          forceNew: true,
          reconnection: false,
          auth: { rooms: spec.rooms || [] },
        });
        sockets.push(socket);
        socket.onAny((event, ...args) => print({ type: "event", client: spec.name, event, args: plain(args) }));
        socket.on("disconnect", (reason) => print({ type: "disconnect", client: spec.name, reason }));
        socket.once("connect_error", reject);
        socket.once("connect", () => {
          clients[spec.name] = { id: socket.id, nsp: spec.nsp || "/" };
          resolve();
        });
      }),
  ),
);

// The adapter does not await its (P)SUBSCRIBEs: wait until Redis counts them.
for (const name of namespaces) {
  const channel = `${key}-request#${name}#`;
  for (let i = 0; ; i++) {
    const [, n] = await pub.sendCommand(["PUBSUB", "NUMSUB", channel]);
    if (Number(n) >= 1) break;
    if (i > 200) throw new Error(`no subscriber on ${channel}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

print({ type: "ready", port, clients });

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  for (const s of sockets) s.close();
  io.close();
  await Promise.allSettled([pub.quit(), sub.quit()]);
  process.exit(0);
}
process.stdin.on("end", shutdown);
process.stdin.on("error", shutdown);
process.stdin.resume();
process.on("SIGTERM", shutdown);
