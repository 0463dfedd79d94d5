// Captures the NOTIFY payloads (and attachment rows) of the official Node
// packages, for adapter/postgres's codec tests: two socket.io 4.8.4 servers
// on @socket.io/postgres-adapter 0.5.0, a client on each, every cluster
// operation, then @socket.io/postgres-emitter 0.1.1's messages. Run once by
// hand (node capture.mjs > ../../../adapter/postgres/testdata/node-messages.json)
// with PostgreSQL at $PG_URL (default postgres://postgres@127.0.0.1:5432/test).
//
// Output: {"versions":{...},"messages":[{"step","channel","payload",
// "attachment"?: base64 of the row's bytea}]} in the order PostgreSQL
// delivered them. Uids and request ids are random; the test reads them.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { io as ioc } from "socket.io-client";
import { createAdapter } from "@socket.io/postgres-adapter";
import { Emitter } from "@socket.io/postgres-emitter";
import pg from "pg";

const url = process.env.PG_URL || "postgres://postgres@127.0.0.1:5432/test";
const suffix = Math.random().toString(16).slice(2, 10);
const prefix = "capture" + suffix;
const table = "capture_" + suffix;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const pool = new pg.Pool({ connectionString: url });
await pool.query(`CREATE TABLE ${table} (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)`);

const messages = [];
let step = "start";
const listener = new pg.Client({ connectionString: url });
await listener.connect();
listener.on("notification", async (n) => {
  const m = { step, channel: n.channel, payload: n.payload };
  messages.push(m);
  const id = JSON.parse(n.payload).attachmentId;
  if (id) {
    const r = await pool.query(`SELECT payload FROM ${table} WHERE id = $1`, [id]);
    m.attachment = r.rows[0].payload.toString("base64");
  }
});
await listener.query(`LISTEN "${prefix}#/"`);

const opts = { channelPrefix: prefix, tableName: table, heartbeatInterval: 60000 };
const servers = [];
const clients = [];
for (const name of ["A", "B"]) {
  const http = createServer();
  const io = new Server(http, { adapter: createAdapter(pool, opts) });
  io.on("whoami", (cb) => cb(name));
  io.on("note", () => {});
  io.on("connection", (socket) => {
    socket.data = { server: name };
    socket.join("r1");
  });
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  servers.push(io);
  const c = ioc(`http://127.0.0.1:${http.address().port}`, { transports: ["websocket"] });
  c.on("ask", (q, ack) => ack({ answer: q, from: name }));
  await new Promise((r) => c.on("connect", r));
  clients.push(c);
}
await sleep(300);
const [A] = servers;
const run = async (name, fn) => {
  step = name;
  await fn();
  await sleep(300);
};

await run("broadcast", () => A.emit("ev", 1, "two", { three: [3.5, true, null] }));
await run("broadcast-rooms", () => A.to("r1").to("r9").except("r2").emit("ev", "rooms"));
await run("broadcast-volatile", () => A.volatile.compress(false).emit("ev", "volatile"));
await run("broadcast-binary", () => A.emit("bin", Buffer.from([1, 2, 3]), { nested: Buffer.from([4]) }));
await run("broadcast-large", () => A.emit("big", "x".repeat(9000)));
await run("sockets-join", () => A.in("r1").except("r2").socketsJoin(["r3", "r4"]));
await run("sockets-leave", () => A.socketsLeave("r3"));
await run("fetch-sockets", () => A.in("r1").fetchSockets());
await run("server-side-emit", () => A.serverSideEmit("note", "hi", 2));
await run("server-side-emit-ack", () => A.serverSideEmitWithAck("whoami"));
await run("server-side-emit-binary", () => A.serverSideEmit("note", Buffer.from([9, 8])));
await run("broadcast-ack", () => A.timeout(2000).emitWithAck("ask", "q"));
await run("disconnect-sockets", () => A.in("r4").disconnectSockets(true));

const e = new Emitter(pool, "/", { channelPrefix: prefix, tableName: table });
await run("emitter-broadcast", () => e.emit("ev", 1, "two"));
await run("emitter-rooms", () => e.to("r1").except("r2").volatile.compress(false).emit("ev", "rooms"));
await run("emitter-binary", () => e.emit("bin", Buffer.from([5, 6])));
await run("emitter-sockets-join", () => e.in("r1").socketsJoin("r5"));
await run("emitter-sockets-leave", () => e.socketsLeave(["r5"]));
await run("emitter-disconnect-sockets", () => e.in("nobody").disconnectSockets(true));
await run("emitter-server-side-emit", () => e.serverSideEmit("note", "x", 1));

await run("close", async () => {
  servers[1].of("/").adapter.close();
});
await run("heartbeat", () => A.of("/").adapter.publish({ type: 2 }));

for (const c of clients) c.close();
for (const io of servers) io.close();
await listener.end();
await pool.query(`DROP TABLE ${table}`);
await pool.end();
const versions = {};
for (const p of ["socket.io", "socket.io-adapter", "@socket.io/postgres-adapter", "@socket.io/postgres-emitter", "pg"]) {
  versions[p] = (await import(`${p}/package.json`, { with: { type: "json" } })).default.version;
}
process.stdout.write(JSON.stringify({ prefix, versions, messages }, null, 1) + "\n");
process.exit(0);
