// The Node side of the cluster fanout benchmark (tests/cluster/bench): the
// server contract of the neutral load generator's BENCH-PROTOCOL (events
// "echo", "join" and "broadcast" on namespace "/", websocket opened directly,
// pingInterval 25 s / pingTimeout 20 s, no compression), on socket.io 4.8.4
// with @socket.io/redis-adapter 8.3.0 (classic createAdapter, node-redis v4),
// so that "broadcast" reaches the members of room "bench" on every server of
// the cluster.
//
//   env PORT      listen port on 127.0.0.1 (required)
//       REDIS_URL the cluster's Redis (default redis://127.0.0.1:6379)
//       KEY       the adapter's key, i.e. its channel prefix (default socket.io)
//
// It logs one line once it listens; the benchmark waits for the port. SIGTERM
// closes it.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const port = Number.parseInt(process.env.PORT ?? "", 10);
if (!Number.isInteger(port) || port <= 0) {
  console.error("node-server.mjs: set PORT");
  process.exit(2);
}
const redisURL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const key = process.env.KEY ?? "socket.io";

// The adapter needs two connections: one to publish, one subscribed.
const pubClient = createClient({ url: redisURL });
const subClient = pubClient.duplicate();
for (const [name, c] of [["pub", pubClient], ["sub", subClient]]) {
  c.on("error", (err) => console.error(`redis ${name}: ${err}`));
}
await Promise.all([pubClient.connect(), subClient.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, {
  serveClient: false,
  pingInterval: 25000,
  pingTimeout: 20000,
  adapter: createAdapter(pubClient, subClient, { key }),
});

// lastFn splits a trailing acknowledgement callback off an event's arguments.
const lastFn = (args) => (typeof args.at(-1) === "function" ? args.pop() : undefined);

io.on("connection", (socket) => {
  // echo: acknowledge with exactly the arguments received.
  socket.on("echo", (...args) => {
    const ack = lastFn(args);
    ack?.(...args);
  });
  // join: enter the room, then acknowledge.
  socket.on("join", (...args) => {
    const ack = lastFn(args);
    socket.join(args[0]);
    ack?.("ok");
  });
  // broadcast: every member of "bench", on every node, gets "tick".
  socket.on("broadcast", (...args) => {
    const ack = lastFn(args);
    io.to("bench").emit("tick", args[0]);
    ack?.("ok");
  });
});

httpServer.listen(port, "127.0.0.1", 4096, () => {
  console.log(`node-server.mjs: pid ${process.pid} on 127.0.0.1:${port}, redis ${redisURL}, key ${key}`);
});

let closing = false;
process.on("SIGTERM", async () => {
  if (closing) return;
  closing = true;
  io.close();
  await Promise.allSettled([pubClient.quit(), subClient.quit()]);
  process.exit(0);
});
