// The official socket.io-client against a server with compression on: run by
// compression_test.go as `node official.mjs SCENARIO URL`; it prints one
// JSON line with what it saw, or exits non-zero.
import { io } from "socket.io-client";
import { WAIT, once, connected } from "../lib/official.mjs";
import { Fetch } from "engine.io-client";

const [scenario, url] = process.argv.slice(2);

// a large, compressible payload of n bytes
function payload(n, seed) {
  let s = "";
  for (let i = 0; s.length < n; i++) s += `{"seed":"${seed}","i":${i},"v":"value ${i % 17}"},`;
  return s.slice(0, n);
}

const scenarios = {
  // WebSocket with permessage-deflate: the client compresses everything it
  // sends (threshold 0); large and small events both ways; a broadcast to
  // two clients with deflate and one without.
  async websocket() {
    const opts = { forceNew: true, transports: ["websocket"], perMessageDeflate: { threshold: 0 } };
    const a = io(url, opts);
    const b = io(url, opts);
    const plain = io(url, { forceNew: true, transports: ["websocket"], perMessageDeflate: false });
    await Promise.all([connected(a), connected(b), connected(plain)]);
    const extensions = {
      a: a.io.engine.transport.ws.extensions,
      plain: plain.io.engine.transport.ws.extensions,
    };
    const big = payload(20000, "big");
    const echoes = {};
    for (const [name, data] of [["big", big], ["small", "hi"]]) {
      const got = once(a, "echo");
      a.emit("echo", data);
      const [back] = await got;
      echoes[name] = back === data;
    }
    const all = payload(30000, "all");
    const received = [a, b, plain].map((s) => once(s, "all"));
    a.emit("broadcast", all);
    const alls = (await Promise.all(received)).map(([d]) => d === all);
    // binary both ways
    const bin = Buffer.from(payload(5000, "bin"));
    const gotBin = once(a, "bin");
    a.emit("bin", bin);
    const [binBack] = await gotBin;
    for (const s of [a, b, plain]) s.close();
    return { extensions, echoes, alls, binary: Buffer.compare(Buffer.from(binBack), bin) === 0 };
  },

  // Polling with fetch (Node's fetch accepts gzip and deflate): a large
  // event in each direction.
  async polling() {
    const s = io(url, { forceNew: true, transports: [Fetch] });
    await connected(s);
    const big = payload(20000, "poll");
    const got = once(s, "echo");
    s.emit("echo", big);
    const [back] = await got;
    s.close();
    return { echo: back === big };
  },
};

const run = scenarios[scenario];
if (!run) {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
run().then(
  (out) => {
    console.log(JSON.stringify(out));
    process.exit(0);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
