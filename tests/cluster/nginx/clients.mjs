// Official socket.io-client 4.8.4 sockets behind nginx, driven by
// nginx_test.go. argv[2] is the URL (nginx), argv[3] a JSON list of
// {"addr": "127.0.0.N", "mode": "polling" | "upgrade"}: each socket has its
// own connection (forceNew) from its own loopback source address (an
// http.Agent with localAddress, for polling and WebSocket alike), keeps
// cookies (withCredentials: the Node client's cookie jar) and does not
// reconnect, so that a failure shows. On connect it sends "echo" and
// "join" ("bench") with acks (the bench-server's events), and an
// "upgrade" socket waits for its WebSocket; then it says "ready".
//
// It prints one JSON line per thing a socket sees, on stdout; c is the
// socket's index:
//   {"c":0,"type":"connect","id":...,"sid":...,"transport":...}
//   {"c":0,"type":"echo","value":...}     (the echo's ack)
//   {"c":0,"type":"joined","value":...}   (the join's ack)
//   {"c":0,"type":"upgrade","transport":"websocket"}
//   {"c":0,"type":"ready","transport":...}
//   {"c":0,"type":"tick","payload":...}   (the "bench" room's broadcast)
//   {"c":0,"type":"broadcast-acked"}
//   {"c":0,"type":"disconnect","reason":...,"status":...,"body":...}
//   {"c":0,"type":"connect_error","message":...,"status":...,"body":...}
// (status and body: those of the failed request of a transport error)
//   {"c":0,"type":"error","message":...}
// A line {"broadcast": c, "payload": ...} on stdin makes socket c send
// "broadcast" (with an ack). It exits when stdin closes (closing its
// sockets), or after a hard deadline.
import http from "node:http";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const [url, spec] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const hard = setTimeout(() => {
  out({ c: -1, type: "fatal", message: "clients.mjs: hard deadline reached" });
  process.exit(2);
}, 120_000);

const agents = [];
const sockets = JSON.parse(spec).map(({ addr, mode }, c) => {
  const agent = new http.Agent({ localAddress: addr, keepAlive: true });
  agents.push(agent);
  const socket = io(url, {
    forceNew: true,
    transports: mode === "polling" ? ["polling"] : ["polling", "websocket"],
    withCredentials: true,
    agent,
    localAddress: addr, // the WebSocket's (ws takes it besides the agent)
    reconnection: false,
    timeout: 10_000,
  });
  let upgraded = false;
  let connected = false;
  let readySent = false;
  const ready = () => {
    if (!readySent && connected && (mode !== "upgrade" || upgraded)) {
      readySent = true;
      out({ c, type: "ready", transport: socket.io.engine.transport.name });
    }
  };
  socket.io.on("open", () => {
    socket.io.engine.on("upgrade", (t) => {
      upgraded = true;
      out({ c, type: "upgrade", transport: t.name });
      ready();
    });
  });
  socket.on("connect", async () => {
    out({ c, type: "connect", id: socket.id, sid: socket.io.engine.id, transport: socket.io.engine.transport.name });
    try {
      const echoed = await socket.timeout(10_000).emitWithAck("echo", { c, text: "through nginx" });
      out({ c, type: "echo", value: echoed });
      const joined = await socket.timeout(10_000).emitWithAck("join", "bench");
      out({ c, type: "joined", value: joined });
      connected = true;
      ready();
    } catch (e) {
      out({ c, type: "error", message: String(e && e.message) });
    }
  });
  socket.on("tick", (payload) => out({ c, type: "tick", payload }));
  // a transport error's details: the failed request's status and body
  // (engine.io-client's TransportError: description, context = the XHR)
  const details = (e) => {
    const ctx = e && e.context;
    return {
      status: ctx && typeof ctx.status === "number" ? ctx.status : 0,
      body: ctx && typeof ctx.responseText === "string" ? ctx.responseText : "",
    };
  };
  socket.on("disconnect", (reason, d) => out({ c, type: "disconnect", reason, ...details(d) }));
  socket.on("connect_error", (e) => out({ c, type: "connect_error", message: e.message, ...details(e) }));
  return socket;
});

createInterface({ input: process.stdin })
  .on("line", async (line) => {
    const cmd = JSON.parse(line);
    try {
      await sockets[cmd.broadcast].timeout(10_000).emitWithAck("broadcast", cmd.payload);
      out({ c: cmd.broadcast, type: "broadcast-acked" });
    } catch (e) {
      out({ c: cmd.broadcast, type: "error", message: String(e && e.message) });
    }
  })
  .on("close", () => {
    clearTimeout(hard);
    for (const s of sockets) s.close();
    for (const a of agents) a.destroy();
    process.exit(0);
  });
