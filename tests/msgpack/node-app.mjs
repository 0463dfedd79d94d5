// The app of msgpack_test.go on Node's socket.io@4.8.4 with
// socket.io-msgpack-parser@3.0.2, to check client.mjs itself against the
// reference server (msgpack_test.go runs it; by hand:
//   node tests/msgpack/node-app.mjs 0     → prints "listening <port>"
//   SIO_URL=http://127.0.0.1:<port> SIO_MODE=polling node tests/msgpack/client.mjs).
import { createServer } from "node:http";
import { Server } from "socket.io";
import parser from "socket.io-msgpack-parser";

const port = Number(process.argv[2] || process.env.PORT || 0);
const hs = createServer();
const io = new Server(hs, { parser, pingInterval: 500, pingTimeout: 2000 });
const common = (s) => {
  s.on("echo", (...args) => args.pop()(...args));
  s.on("whoami", (ack) => ack(s.id));
};
io.on("connection", (s) => {
  common(s);
  s.on("join", (room, ack) => {
    s.join(room);
    ack("ok");
  });
  s.on("shout", (room, ...args) => io.to(room).emit("shouted", ...args));
  s.on("types", (ack) =>
    ack({
      int: 42, neg: -7, float: 1.5, big: 2 ** 40, str: "héllo 😀", yes: true, nil: null,
      arr: [1, "two", [3]], bin: Buffer.from([1, 2, 3]),
    }),
  );
  s.on("ask", async (q) => {
    let a;
    try {
      a = await s.timeout(5000).emitWithAck("question", q, Buffer.from([7]));
    } catch (e) {
      a = "error: " + e.message;
    }
    s.emit("answer", a);
  });
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
hs.listen(port, "127.0.0.1", () => console.log(`listening ${hs.address().port}`));
