// The official socket.io-client (Node) against `serve` over TLS, for
// tls_test.go: node tlsclient.mjs URL CA.pem MODE [CERT.pem KEY.pem]. MODE
// is "websocket" (wss only) or "upgrade" (https polling, then wss). Prints
// one line: "connected websocket", "connected upgraded", "connect_error
// MESSAGE" or "timeout".
import { io } from "socket.io-client";
import { readFileSync } from "node:fs";

const [url, ca, mode, cert, key] = process.argv.slice(2);
const opts = { ca: readFileSync(ca), reconnection: false, timeout: 5000 };
if (cert) {
  opts.cert = readFileSync(cert);
  opts.key = readFileSync(key);
}
if (mode === "websocket") opts.transports = ["websocket"];
const socket = io(url, opts);
const done = (line) => {
  console.log(line);
  socket.close();
  process.exit(0);
};
let connected = false;
let upgraded = false; // the upgrade may finish before or after "connect"
const check = () => {
  if (!connected) return;
  if (mode === "websocket") return done("connected " + socket.io.engine.transport.name);
  if (upgraded) done("connected upgraded");
};
socket.io.on("open", () => socket.io.engine.once("upgrade", () => ((upgraded = true), check())));
socket.on("connect", () => ((connected = true), check()));
socket.on("connect_error", (err) => done("connect_error " + err.message));
setTimeout(() => done("timeout"), 8000);
