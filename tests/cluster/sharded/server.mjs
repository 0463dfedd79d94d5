// A Node socket.io 4.8.4 server on @socket.io/redis-adapter 8.3.0's
// createShardedAdapter (Redis 7 sharded pub/sub, node-redis v4), with one
// socket.io-client connected to it, driven by adapter/redis's sharded
// interop test (sharded_node_test.go) over stdin/stdout:
//
//   env REDIS_URL (default redis://127.0.0.1:6379), PREFIX (channelPrefix),
//       SUBSCRIPTION_MODE (default "dynamic")
//   stdout, first line: {"ready":true,"port":N,"sid":"...","uid":"..."}
//   stdin:  one JSON command a line {"id":N,"cmd":"...",...}
//   stdout: {"id":N,"result":...} or {"id":N,"error":"..."}, and
//           {"event":"client","args":[...]} for each event the client gets,
//           {"event":"server","name":"...","args":[...]} for serverSideEmit.
// Binary is written as {"$bin":"<hex>"}.
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { Server } from "socket.io";
import { createShardedAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { io as connect } from "socket.io-client";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const channelPrefix = process.env.PREFIX ?? "socket.io";
const subscriptionMode = process.env.SUBSCRIPTION_MODE ?? "dynamic";

function out(obj) {
  process.stdout.write(JSON.stringify(plain(obj)) + "\n");
}

function plain(v) {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return { $bin: Buffer.from(v).toString("hex") };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("hex") };
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Set) return [...v].map(plain);
  if (v && typeof v === "object" && !(v instanceof Date)) {
    const o = {};
    for (const k of Object.keys(v)) o[k] = plain(v[k]);
    return o;
  }
  return v;
}

function bin(v) {
  // {"$bin":hex} -> Buffer, recursively
  if (Array.isArray(v)) return v.map(bin);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    const o = {};
    for (const k of Object.keys(v)) o[k] = bin(v[k]);
    return o;
  }
  return v;
}

const pub = createClient({ url });
const sub = pub.duplicate();
pub.on("error", (e) => process.stderr.write(`pub: ${e}\n`));
sub.on("error", (e) => process.stderr.write(`sub: ${e}\n`));
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, {
  adapter: createShardedAdapter(pub, sub, { channelPrefix, subscriptionMode }),
});

io.on("connection", (socket) => {
  socket.data = { user: "node-user", n: 1 };
  socket.join("node-room");
});
io.on("ping-node", (...args) => {
  const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
  out({ event: "server", name: "ping-node", args });
  if (cb) cb({ pong: "from-node", got: args });
});
io.on("no-ack", (...args) => out({ event: "server", name: "no-ack", args }));

await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
const port = httpServer.address().port;

const client = connect(`http://127.0.0.1:${port}`, { transports: ["websocket"], auth: { token: "t" } });
client.onAny((...args) => {
  const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
  out({ event: "client", args });
  if (ack) ack({ ack: "from-node-client", event: args[0] });
});
await new Promise((resolve) => client.on("connect", resolve));

const nsp = io.of("/");
out({ ready: true, port, sid: client.id, uid: nsp.adapter.uid });

const commands = {
  async emit({ rooms = [], except = [], volatile = false, compress, args }) {
    let op = io.to(rooms).except(except);
    if (volatile) op = op.volatile;
    if (compress !== undefined) op = op.compress(compress);
    op.emit(...bin(args));
    return null;
  },
  async emitWithAck({ rooms = [], timeout, args }) {
    return await io.to(rooms).timeout(timeout).emitWithAck(...bin(args));
  },
  async fetchSockets({ rooms = [] }) {
    const sockets = await io.in(rooms).fetchSockets();
    return sockets.map((s) => ({ id: s.id, handshake: s.handshake, rooms: [...s.rooms], data: s.data }));
  },
  async serverSideEmitWithAck({ args }) {
    return await io.serverSideEmitWithAck(...bin(args));
  },
  async serverSideEmit({ args }) {
    io.serverSideEmit(...bin(args));
    return null;
  },
  async socketsJoin({ rooms, except = [], join }) {
    io.in(rooms).except(except).socketsJoin(join);
    return null;
  },
  async disconnectSockets({ rooms, close }) {
    io.in(rooms).disconnectSockets(close);
    return null;
  },
  async localRooms() {
    const s = nsp.sockets.get(client.id);
    return s ? [...s.rooms].sort() : null;
  },
  async serverCount() {
    return await nsp.adapter.serverCount();
  },
};

const rl = createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  let req;
  try {
    req = JSON.parse(line);
    const result = await commands[req.cmd](req);
    out({ id: req.id, result: result ?? null });
  } catch (e) {
    out({ id: req?.id ?? null, error: String(e?.message ?? e) });
  }
});
rl.on("close", async () => {
  client.close();
  io.close();
  await Promise.allSettled([pub.quit(), sub.quit()]);
  process.exit(0);
});
