// The e2e test application (tests/e2e/APP.md) on this host's server API,
// so the official client's tests in tests/e2e/js run against the Worker.
// The disconnect reasons live in the object's storage, so they survive
// hibernation like the sessions do.

function appError(message, data) {
  const err = new Error(message);
  err.data = data;
  return err;
}

export async function setupApp(io, { ctx }) {
  const reasons = new Map((await ctx.storage.get("app:reasons")) ?? []);
  const saveReasons = () => ctx.storage.put("app:reasons", [...reasons].slice(-10000));

  function setup(nsp) {
    nsp.on("connection", (socket) => {
      if (!socket.woke) {
        // a socket restored after hibernation was welcomed already
        socket.emit("welcome", {
          id: socket.id,
          nsp: socket.nsp.name,
          auth: socket.handshake.auth,
          query: socket.handshake.query.foo ?? null,
        });
      }
      socket.on("disconnect", (reason) => {
        reasons.set(socket.id, reason);
        saveReasons();
      });
      socket.on("echo", (...args) => {
        if (args.length > 0 && typeof args[args.length - 1] === "function") {
          const ack = args.pop();
          ack(...args);
        } else {
          socket.emit("echo", ...args);
        }
      });
      socket.on("ask", (payload, timeoutMs, ack) => {
        socket.timeout(timeoutMs).emit("question", payload, (err, answer) => {
          ack(err ? { ok: false, error: err.message } : { ok: true, answer });
        });
      });
      socket.on("slow-ack", (ms, ack) => {
        setTimeout(() => ack("late"), ms);
      });
      socket.on("join", (room, ack) => {
        socket.join(room);
        ack("ok");
      });
      socket.on("leave", (room, ack) => {
        socket.leave(room);
        ack("ok");
      });
      socket.on("broadcast", ({ room, except, event, args }, ack) => {
        let op = socket.nsp;
        if (room) op = op.to(room);
        if (except) op = op.except(except);
        op.emit(event, ...(args ?? []));
        ack("ok");
      });
      socket.on("broadcast-ack", ({ room, timeoutMs }, ack) => {
        socket.nsp
          .to(room)
          .timeout(timeoutMs)
          .emit("poll", (err, responses) => {
            ack({ err: err ? err.message : null, responses });
          });
      });
      socket.on("disconnect-me", (close) => {
        socket.disconnect(close === true);
      });
      socket.on("last-reason", (id, ack) => {
        ack(reasons.get(id) ?? null);
      });
      socket.on("count", (ack) => {
        ack(socket.nsp.sockets.size);
      });
      socket.on("data-set", (value, ack) => {
        socket.data = value;
        ack("ok");
      });
      socket.on("data-get", (ack) => {
        ack(socket.data ?? null);
      });
      socket.on("recovered?", (ack) => {
        ack(socket.recovered);
      });
      // for the hibernation test: did this socket come back from a dropped instance?
      socket.on("woke?", (ack) => {
        ack(socket.woke);
      });
    });
  }

  io.of("/").use((socket, next) => {
    if (socket.handshake.auth?.reject) return next(appError("rejected", { code: 42 }));
    next();
  });
  io.of("/chat").use((socket, next) => {
    if (socket.handshake.auth?.token !== "secret") return next(appError("unauthorized", { reason: "bad token" }));
    next();
  });
  setup(io.of("/"));
  setup(io.of("/chat"));
  setup(io.of(/^\/dyn-[a-z0-9]+$/));
}
