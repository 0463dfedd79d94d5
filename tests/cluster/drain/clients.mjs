// Official socket.io-client 4.8.4 sockets, driven by drain_test.go: one per
// transport mode in argv[3] (comma-separated: "websocket" is
// WebSocket-only, "upgrade" starts on polling and upgrades, "polling" stays
// on polling), each with its own connection (forceNew) to argv[2], all
// reconnecting by themselves. It prints one JSON line per thing a socket
// sees, on stdout, in order; c is the socket's index:
//   {"c":0,"type":"connect","id":...,"recovered":...}
//   {"c":0,"type":"tick","seq":...}           (the "tick" broadcast)
//   {"c":0,"type":"upgrade","transport":...}
//   {"c":0,"type":"disconnect","reason":...}
//   {"c":0,"type":"connect_error","message":...}
// It exits when stdin closes (closing its sockets), or after a hard deadline.
import { io } from "socket.io-client";

const [url, modes] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const hard = setTimeout(() => {
  out({ c: -1, type: "fatal", message: "clients.mjs: hard deadline reached" });
  process.exit(2);
}, 90_000);

const sockets = modes.split(",").map((mode, c) => {
  const socket = io(url, {
    forceNew: true,
    transports: mode === "websocket" ? ["websocket"] : mode === "polling" ? ["polling"] : ["polling", "websocket"],
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    timeout: 5000,
  });
  socket.io.on("open", () => {
    socket.io.engine.on("upgrade", (t) => out({ c, type: "upgrade", transport: t.name }));
  });
  socket.on("connect", () => out({ c, type: "connect", id: socket.id, recovered: socket.recovered }));
  socket.on("disconnect", (reason) => out({ c, type: "disconnect", reason }));
  socket.on("connect_error", (e) => out({ c, type: "connect_error", message: e.message }));
  socket.on("tick", (seq) => out({ c, type: "tick", seq }));
  return socket;
});

process.stdin.on("data", () => {});
process.stdin.on("end", () => {
  clearTimeout(hard);
  for (const s of sockets) s.close();
  process.exit(0);
});
