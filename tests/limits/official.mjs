// The official socket.io-client against a server with native.Limits: what a
// client built for Node's server sees of each protection. Run by
// limits_test.go as `node official.mjs SCENARIO URL`; it prints one JSON
// line with what it saw, or exits non-zero.
import { io } from "socket.io-client";
import { WAIT, once, connected } from "../lib/official.mjs";

const [scenario, url] = process.argv.slice(2);

const scenarios = {
  // MaxNamespacesPerConnection 2: the third namespace of one Manager.
  async namespaces() {
    const opts = { transports: ["websocket"] };
    const root = io(url, opts);
    await connected(root);
    const a = io(url + "/a", opts);
    await connected(a);
    const b = io(url + "/b", opts);
    const [err] = await once(b, "connect_error");
    const pong = await a.timeout(WAIT).emitWithAck("ping", 1);
    root.io.engine.close();
    return { refused: err.message, stillServed: pong };
  },

  // A rate with OnLimit error-ack: a burst of acknowledged events.
  async "error-ack"() {
    const socket = io(url, { transports: ["websocket"] });
    await connected(socket);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => socket.timeout(WAIT).emitWithAck("ev", i)),
    );
    socket.close();
    const errors = results.filter((r) => r && typeof r === "object" && r.error);
    return { ok: results.filter((r) => r === "ok").length, errors: errors.length, sample: errors[0] };
  },

  // MaxConnectionsPerIP 1: a second client is refused until the first leaves,
  // then gets in through its own reconnection.
  async "per-ip"() {
    const first = io(url, { transports: ["polling"] });
    await connected(first);
    const second = io(url, { forceNew: true, transports: ["polling"], reconnectionDelay: 100, reconnectionDelayMax: 200 });
    const [err] = await once(second, "connect_error");
    first.close();
    await once(second, "connect");
    second.close();
    return { refusedWith: err.message, description: err.description ?? null, connectedAfter: true };
  },

  // A slow consumer: the client stops reading its WebSocket while the server
  // sends it 4 MB; the server closes it, and the client reconnects.
  async slow() {
    const socket = io(url, { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 200 });
    await connected(socket);
    const first = socket.id;
    const tcp = socket.io.engine.transport.ws._socket; // ws's net.Socket
    tcp.pause(); // stop reading: the kernel's buffers fill up
    socket.emit("flood-me");
    await new Promise((r) => setTimeout(r, 1500));
    const left = once(socket, "disconnect");
    tcp.resume();
    const [reason] = await left;
    await once(socket, "connect");
    const again = socket.id;
    socket.close();
    return { reason, reconnected: again !== first };
  },
};

const run = scenarios[scenario];
if (!run) {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
run().then(
  (r) => {
    console.log(JSON.stringify(r));
    process.exit(0);
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
