// The official socket.io-client, driven by official_test.go: it connects to
// argv[2] with the transport argv[3] ("websocket" or "polling"), joins the
// room argv[4] through the server's "join" event, and reconnects by itself.
// It prints one JSON line per thing it sees, on stdout, in order:
//   {"type":"connect","id":...,"recovered":...}
//   {"type":"joined","res":[...]}
//   {"type":"event","event":...,"args":[...]}   (a Buffer as {"bin":[...]})
//   {"type":"disconnect","reason":...}
//   {"type":"error","message":...}
// It exits when stdin closes, or after a hard deadline.
import { io } from "socket.io-client";

const [url, transport, room] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const hard = setTimeout(() => {
  out({ type: "error", message: "official_client.mjs: hard deadline reached" });
  process.exit(2);
}, 60_000);

const socket = io(url, {
  transports: [transport],
  reconnectionDelay: 300,
  reconnectionDelayMax: 300,
  randomizationFactor: 0,
  timeout: 5000,
});

const plain = (v) => (Buffer.isBuffer(v) || v instanceof ArrayBuffer ? { bin: [...new Uint8Array(v)] } : v);

let joined = false;
socket.on("connect", async () => {
  out({ type: "connect", id: socket.id, recovered: socket.recovered });
  if (!joined) {
    joined = true;
    try {
      const res = await socket.timeout(5000).emitWithAck("join", room);
      out({ type: "joined", res: [res] });
    } catch (e) {
      out({ type: "error", message: `join: ${e.message}` });
    }
  }
});
socket.on("disconnect", (reason) => out({ type: "disconnect", reason }));
socket.on("connect_error", (e) => out({ type: "connect_error", message: e.message }));
socket.onAny((event, ...args) => out({ type: "event", event, args: args.map(plain) }));

process.stdin.on("data", () => {});
process.stdin.on("end", () => {
  clearTimeout(hard);
  socket.close();
  process.exit(0);
});
