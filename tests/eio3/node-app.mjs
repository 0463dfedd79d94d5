// The app of eio3_test.go on Node's socket.io@4.8.4 with allowEIO3, to check
// v2client.mjs itself against the reference server:
//   node tests/eio3/node-app.mjs 3210 &
//   SIO_URL=http://127.0.0.1:3210 SIO_MODE=polling node tests/eio3/v2client.mjs
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2] || 3210);
const hs = createServer();
const io = new Server(hs, { allowEIO3: true, pingInterval: 500, pingTimeout: 500 });
const common = (s) => {
  s.on("whoami", (ack) => ack(s.id));
  s.on("echo", (...args) => args.pop()(...args));
  s.on("auth", (ack) => ack(s.handshake.auth));
  s.on("disconnect", (reason) => console.log(`disconnect ${s.nsp.name} ${reason}`));
};
io.on("connection", (s) => {
  common(s);
  s.on("ask", async (q) => {
    let a;
    try {
      a = await s.timeout(5000).emitWithAck("question", q);
    } catch (e) {
      a = "error: " + e.message;
    }
    s.emit("answer", a);
  });
  s.on("shout", (...args) => io.emit("shouted", ...args));
  s.on("kick-me", () => s.disconnect());
});
const chat = io.of("/chat");
chat.use((s, next) => {
  if (s.handshake.auth.token !== "t0k3n") {
    const err = new Error("unauthorized");
    err.data = { reason: "bad token" };
    return next(err);
  }
  next();
});
chat.on("connection", common);
io.of("/plain").use((s, next) => next(new Error("plain refusal")));
hs.listen(port, "127.0.0.1", () => console.log(`listening on ${port}`));
