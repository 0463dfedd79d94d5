// The official Socket.IO 2.x client (socket.io-client@2.5.0, Engine.IO v3)
// against a server accepting v3 clients (eio3_test.go's app). Env: SIO_URL,
// SIO_MODE = polling | polling-b64 | websocket | websocket-b64 | upgrade.
// Exits non-zero on the first failure.
import { createRequire } from "node:module";
import http from "node:http";
import assert from "node:assert/strict";

const URL_ = process.env.SIO_URL;
const MODE = process.env.SIO_MODE;
if (!URL_ || !MODE) {
  console.error("SIO_URL and SIO_MODE are required");
  process.exit(2);
}

// Node's xmlhttprequest-ssl has no XHR2 (responseType), so the client in
// Node always polls in base64 (b64=1). For the "polling" and "upgrade" modes
// it gets a minimal XHR2 over node:http instead, as a browser has: binary
// payloads then travel as application/octet-stream both ways.
class XHR2 {
  constructor() {
    this.responseType = "";
    this.readyState = 0;
    this.status = 0;
    this.headers = {};
    this.resHeaders = {};
  }
  open(method, url) {
    this.method = method;
    this.url = url;
    this.readyState = 1;
  }
  setRequestHeader(k, v) {
    this.headers[k] = v;
  }
  getResponseHeader(k) {
    return this.resHeaders[k.toLowerCase()] ?? null;
  }
  send(data) {
    this.req = http.request(this.url, { method: this.method, headers: this.headers }, (res) => {
      this.status = res.statusCode;
      this.resHeaders = res.headers;
      this.readyState = 2;
      this.onreadystatechange?.();
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const buf = Buffer.concat(chunks);
        if (this.responseType === "arraybuffer") {
          this.response = buf; // engine.io-parser 2 (Node build) reads Buffers
        } else {
          this.responseText = buf.toString("utf8");
        }
        this.readyState = 4;
        this.onreadystatechange?.();
      });
    });
    this.req.on("error", () => {
      this.status = 0;
      this.readyState = 4;
      this.onreadystatechange?.();
    });
    this.req.end(data == null ? undefined : typeof data === "string" ? data : Buffer.from(data));
  }
  abort() {
    this.req?.destroy();
  }
}

const useXHR2 = MODE === "polling" || MODE === "upgrade";
if (useXHR2) {
  const req = createRequire(import.meta.url);
  const fromClient = createRequire(req.resolve("socket.io-client-v2"));
  const fromEngine = createRequire(fromClient.resolve("engine.io-client"));
  const path = fromEngine.resolve("xmlhttprequest-ssl");
  req.cache[path] = { id: path, filename: path, loaded: true, exports: XHR2 };
}
const { default: io } = await import("socket.io-client-v2");

const opts = {
  polling: { transports: ["polling"] },
  "polling-b64": { transports: ["polling"] },
  websocket: { transports: ["websocket"] },
  "websocket-b64": { transports: ["websocket"], forceBase64: true },
  upgrade: {},
}[MODE];
assert.ok(opts, "unknown mode " + MODE);
const base = { ...opts, forceNew: true, reconnection: false };

const TIMEOUT = 5000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function once(em, ev) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for "${ev}"`)), TIMEOUT);
    em.once(ev, (...args) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}
function emitAck(s, ...args) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ack for "${args[0]}"`)), TIMEOUT);
    s.emit(...args, (...res) => {
      clearTimeout(t);
      resolve(res);
    });
  });
}
async function step(name, fn) {
  await fn();
  console.log(`ok - ${MODE}: ${name}`);
}

const watchdog = setTimeout(() => {
  console.error("FAIL: global timeout");
  process.exit(1);
}, 40000);

try {
  const root = io(URL_, base);
  const engine = () => root.io.engine;

  await step("connect to / (no CONNECT packet in v2)", async () => {
    await once(root, "connect");
    assert.equal(root.id, engine().id, "the / socket id is the engine id");
    const [sid] = await emitAck(root, "whoami");
    assert.equal(sid, root.id);
  });

  await step("transport", async () => {
    if (MODE === "upgrade") {
      if (engine().transport.name !== "websocket") await once(engine(), "upgrade");
    }
    const want = MODE.startsWith("polling") ? "polling" : "websocket";
    assert.equal(engine().transport.name, want);
    if (MODE.startsWith("polling")) {
      assert.equal(engine().transport.supportsBinary, MODE === "polling", "polling binary support");
    }
    if (MODE.startsWith("websocket")) {
      assert.equal(engine().transport.supportsBinary, MODE === "websocket", "WebSocket binary support");
    }
  });

  await step("events with acks", async () => {
    const res = await emitAck(root, "echo", 1, "two", { three: [3, null] }, true, "é😀\u2028");
    assert.deepEqual(res, [1, "two", { three: [3, null] }, true, "é😀\u2028"]);
  });

  await step("binary both ways", async () => {
    const res = await emitAck(root, "echo", Buffer.from([1, 2, 3]), { nested: Buffer.from([4, 5]) }, "x");
    assert.ok(Buffer.isBuffer(res[0]), "top-level binary arrives as a Buffer");
    assert.deepEqual([...res[0]], [1, 2, 3]);
    assert.deepEqual([...res[1].nested], [4, 5]);
    assert.equal(res[2], "x");
    const big = Buffer.alloc(100000, 7);
    const [back] = await emitAck(root, "echo", big);
    assert.ok(big.equals(back), "100 kB attachment");
  });

  await step("server to client event with ack", async () => {
    root.on("question", (q, cb) => cb(q + "!"));
    root.emit("ask", "why");
    const [a] = await once(root, "answer");
    assert.equal(a, "why!");
  });

  await step("broadcast with binary", async () => {
    root.emit("shout", "hey", Buffer.from([9, 8]));
    const [word, bin] = await once(root, "shouted");
    assert.equal(word, "hey");
    assert.deepEqual([...bin], [9, 8]);
  });

  await step("heartbeat: the client pings, the server pongs", async () => {
    let pongs = 0;
    engine().on("pong", () => pongs++);
    await sleep(1600); // the server would close a silent v3 client after 1 s
    assert.ok(pongs >= 2, `${pongs} pongs`);
    const [sid] = await emitAck(root, "whoami");
    assert.equal(sid, root.id);
  });

  const chat = root.io.socket("/chat", { query: { token: "t0k3n" } });
  await step("a second namespace, auth from its query", async () => {
    await once(chat, "connect");
    assert.equal(chat.id, "/chat#" + engine().id);
    const [sid] = await emitAck(chat, "whoami");
    assert.equal(sid, chat.id);
    const [auth] = await emitAck(chat, "auth");
    assert.deepEqual(auth, { token: "t0k3n" });
    const res = await emitAck(chat, "echo", "in chat", Buffer.from([6]));
    assert.equal(res[0], "in chat");
    assert.deepEqual([...res[1]], [6]);
  });

  await step("refusals: middleware data, middleware message, unknown namespace", async () => {
    const cases = [
      ["/chat", { token: "nope" }, { reason: "bad token" }],
      ["/plain", undefined, "plain refusal"],
      ["/nowhere", undefined, { message: "Invalid namespace" }],
    ];
    for (const [nsp, query, want] of cases) {
      const s = io(URL_ + nsp, { ...base, query });
      const [err] = await once(s, "error");
      assert.deepEqual(err, want, nsp);
      assert.equal(s.connected, false);
      s.close();
    }
  });

  await step("leave a namespace", async () => {
    chat.close();
    await sleep(100);
    const [sid] = await emitAck(root, "whoami");
    assert.equal(sid, root.id);
  });

  await step("server-side disconnect", async () => {
    root.emit("kick-me");
    const [reason] = await once(root, "disconnect");
    assert.equal(reason, "io server disconnect");
  });

  root.io.close();
  clearTimeout(watchdog);
  console.log(`ok - ${MODE}: all`);
  process.exit(0);
} catch (e) {
  console.error(`FAIL (${MODE}):`, e);
  process.exit(1);
}
