// One Node server of the official-client cluster test (official_test.go):
// socket.io 4.8.4 on @socket.io/redis-adapter 8.3.0 (classic createAdapter,
// node-redis v4). It runs the application the Go servers of the test run too
// (goApp in official_test.go), so that driver.mjs drives every server, Go or
// Node, the same way:
//
//   "/" on connection    socket.data = {server, label}; socket.join(auth.rooms)
//                        (auth = {label, rooms}, sent by the client)
//   "/side"              a namespace with nothing in it: a second socket on
//                        the same connection, to see whether a disconnection
//                        closes the connection too
//   "/ctl" "op" (spec, ...args, ack)    one operation on "/", acked with its
//                        result, or {error} if it fails. spec.op is one of:
//     emit               B.emit(spec.event, ...args) → "ok"
//     socketsJoin        B.socketsJoin(spec.room) → "ok"
//     socketsLeave       B.socketsLeave(spec.room) → "ok"
//     disconnectSockets  B.disconnectSockets(spec.close) → "ok"
//     fetch              B.fetchSockets() → [describe(socket)] sorted by id
//     remote             for each s of B.fetchSockets(): by spec.action
//                        "emit" s.emit(spec.event, ...args), "join"/"leave"
//                        s.join/leave(spec.room), "disconnect" s.disconnect(spec.close)
//                        → the sockets' ids, sorted
//     poll               B.timeout(spec.timeout).emitWithAck(spec.event, ...args) → replies
//     sse                io.serverSideEmit(spec.event, ...args) → "ok"
//     sseAck             io.serverSideEmitWithAck(spec.event, ...args) → replies
//     allRooms           [...io.of("/").adapter.allRooms()] sorted
//     serverCount        io.of("/").adapter.serverCount()
//   where B is io.to(spec.rooms).except(spec.except), then .local if
//   spec.local, .volatile if spec.volatile, .compress(false) if spec.compress
//   is false, and describe(s) = {id, rooms (sorted), data, handshake: {auth,
//   query, address, url, issued, secure, headers}}.
//   server-side "note" (from, payload)  io.local.emit("noted", {by: <server>, from, payload})
//   server-side "whoami" (x, cb)        cb({name: <server>, got: x})
//
// Usage: node server.mjs <key> <name>     ($REDIS_URL, default redis://127.0.0.1:6379)
//
// stdout: {"type":"ready","port":P} once the server listens on 127.0.0.1:P
// and Redis counts the adapter's subscriptions of "/" (its specific response
// channel, the last one it subscribes to); {"type":"error",...} on Redis
// trouble. It exits when stdin closes or on SIGTERM.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const key = process.argv[2];
const name = process.argv[3];
if (!key || !name) throw new Error("usage: node server.mjs <key> <name>");
const redisURL = process.env.REDIS_URL || "redis://127.0.0.1:6379";

const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const failure = (e) => ({ error: String(e?.message ?? e) });

const pub = createClient({ url: redisURL });
const sub = pub.duplicate();
for (const c of [pub, sub]) c.on("error", (err) => print({ type: "error", message: String(err) }));
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, {
  adapter: createAdapter(pub, sub, { key, requestsTimeout: 2000 }),
});
const root = io.of("/");
io.of("/side");

io.on("note", (from, payload) => io.local.emit("noted", { by: name, from, payload }));
io.on("whoami", (x, cb) => cb({ name, got: x }));

root.on("connection", (socket) => {
  const auth = socket.handshake.auth || {};
  socket.data = { server: name, label: auth.label };
  if (Array.isArray(auth.rooms)) socket.join(auth.rooms);
});

function operator(spec) {
  let b = root.to(spec.rooms || []).except(spec.except || []);
  if (spec.local) b = b.local;
  if (spec.volatile) b = b.volatile;
  if (spec.compress === false) b = b.compress(false);
  return b;
}

function describe(s) {
  const h = s.handshake;
  return {
    id: s.id,
    rooms: [...s.rooms].sort(),
    data: s.data,
    handshake: {
      auth: h.auth,
      query: h.query,
      address: h.address,
      url: h.url,
      issued: h.issued,
      secure: h.secure,
      headers: h.headers,
    },
  };
}

const byID = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

async function run(spec, args) {
  const b = operator(spec);
  switch (spec.op) {
    case "emit":
      b.emit(spec.event, ...args);
      return "ok";
    case "socketsJoin":
      b.socketsJoin(spec.room);
      return "ok";
    case "socketsLeave":
      b.socketsLeave(spec.room);
      return "ok";
    case "disconnectSockets":
      b.disconnectSockets(!!spec.close);
      return "ok";
    case "fetch":
      return (await b.fetchSockets()).map(describe).sort(byID);
    case "remote": {
      const sockets = await b.fetchSockets();
      for (const s of sockets) {
        switch (spec.action) {
          case "emit":
            s.emit(spec.event, ...args);
            break;
          case "join":
            s.join(spec.room);
            break;
          case "leave":
            s.leave(spec.room);
            break;
          case "disconnect":
            s.disconnect(!!spec.close);
            break;
          default:
            throw new Error(`unknown action ${spec.action}`);
        }
      }
      return sockets.map((s) => s.id).sort();
    }
    case "poll":
      return await b.timeout(spec.timeout).emitWithAck(spec.event, ...args);
    case "sse":
      io.serverSideEmit(spec.event, ...args);
      return "ok";
    case "sseAck":
      return await io.serverSideEmitWithAck(spec.event, ...args);
    case "allRooms":
      return [...(await root.adapter.allRooms())].sort();
    case "serverCount":
      return await root.adapter.serverCount();
    default:
      throw new Error(`unknown op ${spec.op}`);
  }
}

io.of("/ctl").on("connection", (socket) => {
  socket.on("op", async (spec, ...rest) => {
    const ack = rest.pop();
    try {
      ack(await run(spec, rest));
    } catch (e) {
      ack(failure(e));
    }
  });
});

await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
const port = httpServer.address().port;

// The adapter does not await its (P)SUBSCRIBEs: wait until Redis counts them.
const channel = `${key}-response#/#${root.adapter.uid}#`;
for (let i = 0; ; i++) {
  const [, n] = await pub.sendCommand(["PUBSUB", "NUMSUB", channel]);
  if (Number(n) >= 1) break;
  if (i > 500) throw new Error(`no subscriber on ${channel}`);
  await new Promise((r) => setTimeout(r, 10));
}

print({ type: "ready", port });

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  io.close();
  await Promise.allSettled([pub.quit(), sub.quit()]);
  process.exit(0);
}
process.stdin.on("end", shutdown);
process.stdin.on("error", shutdown);
process.stdin.resume();
process.on("SIGTERM", shutdown);
