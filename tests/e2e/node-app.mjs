// Reference implementation of the e2e app contract (tests/e2e/APP.md) on top of
// the official Node server, socket.io 4.8.4. The JS tests are validated against
// this first; the Go server must then behave identically.
import { createServer } from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Server } from "socket.io";

const port = Number(process.env.PORT ?? 0);

const httpServer = createServer((req, res) => {
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
});

// SIO_RECOVERY_MS set: connection state recovery with that window (APP.md).
const recoveryMs = process.env.SIO_RECOVERY_MS ? Number(process.env.SIO_RECOVERY_MS) : 0;
if (process.env.SIO_RECOVERY_MS && !(recoveryMs > 0)) {
  throw new Error(`SIO_RECOVERY_MS must be a positive number of ms; got ${process.env.SIO_RECOVERY_MS}`);
}

const io = new Server(httpServer, {
  pingInterval: 500,
  pingTimeout: 2000,
  cors: { origin: "*" },
  ...(recoveryMs > 0 && {
    connectionStateRecovery: { maxDisconnectionDuration: recoveryMs, skipMiddlewares: true },
  }),
});

// socket id -> disconnect reason, for every namespace.
const reasons = new Map();

function appError(message, data) {
  const err = new Error(message);
  err.data = data;
  return err;
}

function setup(nsp) {
  nsp.on("connection", (socket) => {
    socket.emit("welcome", {
      id: socket.id,
      nsp: socket.nsp.name,
      auth: socket.handshake.auth,
      query: socket.handshake.query.foo ?? null,
    });

    socket.on("disconnect", (reason) => {
      reasons.set(socket.id, reason);
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

    // For the recovery tests (SIO_RECOVERY_MS); harmless without recovery.
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
  });
}

io.of("/").use((socket, next) => {
  if (socket.handshake.auth?.reject) {
    return next(appError("rejected", { code: 42 }));
  }
  next();
});

io.of("/chat").use((socket, next) => {
  if (socket.handshake.auth?.token !== "secret") {
    return next(appError("unauthorized", { reason: "bad token" }));
  }
  next();
});

setup(io.of("/"));
setup(io.of("/chat"));
setup(io.of(/^\/dyn-[a-z0-9]+$/));

httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});

// Diagnostics only (stderr): with pingTimeout 2000 ms, a stall of this process
// drops clients. Report stalls so a failed run can be attributed to machine load.
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
setInterval(() => {
  const max = Math.round(loop.max / 1e6);
  if (max > 250) process.stderr.write(`node-app: event loop stalled up to ${max} ms (${new Date().toISOString()})\n`);
  loop.reset();
}, 1000).unref();

function shutdown() {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
