// One Node server of the mixed cluster test (mixed_test.go): socket.io 4.8.4
// on @socket.io/redis-adapter 8.3.0 (classic createAdapter, node-redis v4),
// running the application the Go servers of the test run too, so that the
// test drives every server the same way, through its clients:
//
//   on connection        emit "hello" {id, server}; socket.data = {server}
//   "join" (room, ack)   socket.join(room); ack("ok")
//   "to" (room, event, payload, ack)
//                        io.to(room).emit(event, payload) (io.emit if room is ""); ack("ok")
//   "fetch" (room, ack)  io.in(room).fetchSockets() (every socket if room is "")
//                        → ack([{id, rooms, data}])
//   "socketsJoin" (target, room, ack)   io.in(target).socketsJoin(room); ack("ok")
//   "disconnectSockets" (target, ack)   io.in(target).disconnectSockets(); ack("ok")
//                        ("disconnect" is a reserved event name)
//   "sse" (ack)          io.serverSideEmitWithAck("whoami") → ack(sorted answers)
//   "poll" (ack)         io.timeout(2000).emitWithAck("quiz", "q") → ack(sorted answers)
//   server-side "whoami" (cb)   cb(<server name>)
// A request that fails acks {error: "<message>"}.
//
// Usage: node server.mjs <key> [<name>]
//   key   the adapter's key (channel prefix); also $SIO_KEY; default "socket.io"
//   name  the server's name; also $SIO_NAME; default "node"
//   $REDIS_URL  default redis://127.0.0.1:6379
//
// stdout: one line {"type":"ready","port":P,"uid":"<adapter uid>"} once the
// server listens on 127.0.0.1:P and Redis counts the adapter's subscriptions
// of "/" (PUBSUB NUMSUB of its specific response channel, the last channel of
// its SUBSCRIBE, itself sent after its PSUBSCRIBE); {"type":"error",...} on
// Redis trouble. It exits when stdin closes or on SIGTERM.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const key = process.argv[2] || process.env.SIO_KEY || "socket.io";
const name = process.argv[3] || process.env.SIO_NAME || "node";
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

io.on("whoami", (cb) => cb(name));

io.on("connection", (socket) => {
  socket.data = { server: name };
  socket.emit("hello", { id: socket.id, server: name });

  socket.on("join", (room, ack) => {
    socket.join(room);
    ack("ok");
  });
  socket.on("to", (room, event, payload, ack) => {
    (room ? io.to(room) : io).emit(event, payload);
    ack("ok");
  });
  socket.on("fetch", async (room, ack) => {
    try {
      const sockets = await (room ? io.in(room) : io).fetchSockets();
      ack(sockets.map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data })));
    } catch (e) {
      ack(failure(e));
    }
  });
  socket.on("socketsJoin", (target, room, ack) => {
    io.in(target).socketsJoin(room);
    ack("ok");
  });
  socket.on("disconnectSockets", (target, ack) => {
    io.in(target).disconnectSockets();
    ack("ok");
  });
  socket.on("sse", async (ack) => {
    try {
      ack((await io.serverSideEmitWithAck("whoami")).sort());
    } catch (e) {
      ack(failure(e));
    }
  });
  socket.on("poll", async (ack) => {
    try {
      ack((await io.timeout(2000).emitWithAck("quiz", "q")).sort());
    } catch (e) {
      ack(failure(e));
    }
  });
});

await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
const port = httpServer.address().port;

// The adapter does not await its (P)SUBSCRIBEs: wait until Redis counts them.
const uid = io.of("/").adapter.uid;
const channel = `${key}-response#/#${uid}#`;
for (let i = 0; ; i++) {
  const [, n] = await pub.sendCommand(["PUBSUB", "NUMSUB", channel]);
  if (Number(n) >= 1) break;
  if (i > 500) throw new Error(`no subscriber on ${channel}`);
  await new Promise((r) => setTimeout(r, 10));
}

print({ type: "ready", port, uid });

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
