// A Worker module running the built SDK (sdk/js/dist) in workerd (miniflare,
// test/workerd.test.mjs). core.wasm comes in as the module workerd compiled
// at load time (a CompiledWasm import) and is passed as opts.wasm, as the
// README says for workerd. Each request
//   GET /?url=<Socket.IO server>&mode=websocket|polling|upgrade
// connects to the e2e app (tests/e2e/APP.md) with the SDK, runs one session
// and answers with what it saw as JSON; the Node test asserts on it. With
// &headers=1 the SDK gets extraHeaders, which workerd's WebSocket constructor
// cannot send: the SDK opens its WebSocket with a fetch (Upgrade) instead.
// Every wait is bounded (WAIT ms); a failure comes back as {error, steps}.
import { io } from "../../dist/index.js";
import wasm from "../../dist/core.wasm";

const WAIT = 8000;
const MODES = {
  websocket: { transports: ["websocket"], upgrade: false },
  polling: { transports: ["polling"], upgrade: false },
  upgrade: { transports: ["polling", "websocket"] },
};

/** Resolves with the arguments of the next `ev` on em, or rejects after ms. */
function next(em, ev, ms = WAIT) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (em.off(ev, on), reject(new Error(`timed out waiting for "${ev}"`))), ms);
    function on(...a) {
      clearTimeout(timer);
      em.off(ev, on);
      resolve(a);
    }
    em.on(ev, on);
  });
}

// what goes back to the test as JSON: binary as {bin: type, bytes}
function plain(v) {
  if (v instanceof ArrayBuffer) return { bin: "ArrayBuffer", bytes: [...new Uint8Array(v)] };
  if (ArrayBuffer.isView(v)) return { bin: v.constructor.name, bytes: [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
  if (v instanceof Error) return { error: v.message };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** emit with an ack callback: resolves with every argument of the ack. */
function ask(s, ev, ...args) {
  return new Promise((resolve, reject) => {
    s.timeout(WAIT).emit(ev, ...args, (err, ...answer) => (err ? reject(err) : resolve(answer)));
  });
}

async function session(url, mode, headers) {
  const out = { steps: [] };
  const step = (name) => out.steps.push(name);
  const opts = { ...MODES[mode], wasm, forceNew: true, reconnection: false, timeout: WAIT };
  if (headers) opts.extraHeaders = { "x-socketcore-test": "workerd" };
  const s = io(`${url}/`, { ...opts, auth: { who: "workerd" }, query: { foo: "bar" } });
  const checker = [];
  try {
    const echoes = [];
    s.on("echo", (...a) => echoes.push(a));
    const welcome = next(s, "welcome");
    const connected = next(s, "connect");
    const upgraded = mode === "upgrade" ? next(s.io.engine, "upgrade") : null;
    await connected;
    step("connect");
    out.id = s.id;
    out.connected = s.connected;
    [out.welcome] = await welcome;
    step("welcome");
    if (upgraded) {
      await upgraded;
      step("upgrade");
    }
    out.transport = s.io.engine.transport.name;

    // an emit with an ack: the round trip, text and numbers
    out.ack = await ask(s, "echo", "hé 🙂", { n: 1, list: [true, null] });
    step("ack");
    // binary both ways: in an ack, nested, and in an event the server emits
    out.binaryAck = plain(await ask(s, "echo", new Uint8Array([1, 2, 3]), { nested: [new Uint16Array([258])] }));
    step("binary ack");
    const evs = next(s, "echo");
    s.emit("echo", "plain", new Uint8Array([255, 0]).buffer);
    await evs;
    out.serverEvents = plain(echoes);
    step("server event");

    // acks the other way: the server asks a question, the SDK's ack callback answers it,
    // and the server acks the result to the SDK's "ask"
    const question = new Promise((resolve) => s.once("question", (p, ack) => (ack({ from: "workerd", p }), resolve(p))));
    out.question = await ask(s, "ask", { q: 42 }, 5000);
    out.questionPayload = await question;
    step("server ack round trip");

    // disconnect: the client's "disconnect", and the reason the server recorded
    const id = s.id;
    const gone = next(s, "disconnect");
    // the Manager closes the connection once its last socket has left (socket.io-client's _destroy)
    const closed = next(s.io, "close");
    s.disconnect();
    [out.disconnect] = await gone;
    out.afterDisconnect = { connected: s.connected, id: s.id ?? null };
    step("disconnect");
    const c = io(`${url}/`, opts);
    checker.push(c);
    await next(c, "connect");
    out.serverReason = (await ask(c, "last-reason", id))[0];
    step("server reason");
    out.managerClose = await closed;
    step("close");
    return out;
  } catch (e) {
    out.error = String(e && e.stack ? e.stack : e);
    return out;
  } finally {
    s.io.disconnect();
    for (const c of checker) c.io.disconnect();
  }
}

export default {
  async fetch(req) {
    const q = new URL(req.url).searchParams;
    const url = q.get("url");
    const mode = q.get("mode");
    if (!url || !MODES[mode]) return new Response("want ?url=<server>&mode=websocket|polling|upgrade", { status: 400 });
    return Response.json(await session(url, mode, q.get("headers") === "1"));
  },
};
