// The test page's side of the browser tests (test/browser.test.mjs): it
// runs in Chromium with the client the page loaded (the SDK or the
// official bundle) and exposes window.T, whose answers are what the tests
// assert on. Every wait is bounded.

const WAIT = 8000;

export function install(io) {
  const q = new URLSearchParams(location.search);
  if (q.has("connect")) {
    // the connect-time measurement: connect at once, record when
    const s = io(q.get("connect"), JSON.parse(q.get("opts") ?? "{}"));
    s.on("connect", () => (window.connectedAt = performance.now()));
    s.on("connect_error", (e) => (window.connectError = String(e && e.message)));
  }
  const sockets = new Map(); // key → {s, got: Map(event → [args])}

  function within(ms, what, f) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`page: timed out waiting for ${what}`)), ms);
      f((v) => (clearTimeout(timer), resolve(v)), (e) => (clearTimeout(timer), reject(e)));
    });
  }
  const entry = (key) => {
    const e = sockets.get(key);
    if (!e) throw new Error(`page: no socket ${key}`);
    return e;
  };
  function record(e, emitter, prefix, ev) {
    const name = prefix + ev;
    if (e.got.has(name)) return;
    e.got.set(name, []);
    emitter.on(ev, (...args) => e.got.get(name).push(args.map(plain)));
  }
  // what crosses back to the test: binary as {bin: type, bytes}
  function plain(v) {
    if (v instanceof ArrayBuffer) return { bin: "ArrayBuffer", bytes: [...new Uint8Array(v)] };
    if (ArrayBuffer.isView(v)) return { bin: v.constructor.name, bytes: [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
    if (v instanceof Error) return { error: v.message };
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    return v;
  }

  window.T = {
    /** Connects socket `key`; resolves with its id and transport once connected (and upgraded when asked). */
    open(key, url, opts = {}, upgraded = false) {
      const s = io(url, { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 300, ...opts });
      const e = { s, got: new Map() };
      sockets.set(key, e);
      for (const ev of ["connect", "disconnect", "welcome", "chat", "echo"]) record(e, s, "", ev);
      for (const ev of ["reconnect", "reconnect_attempt", "open", "close"]) record(e, s.io, "io:", ev);
      return within(WAIT, `${key} to connect`, (ok, ko) => {
        const done = () => ok({ id: s.id, transport: s.io.engine.transport.name });
        s.once("connect_error", (err) => ko(new Error(`connect_error: ${err.message}`)));
        s.once("connect", () => (upgraded && s.io.engine.transport.name !== "websocket" ? s.io.engine.once("upgrade", done) : done()));
      });
    },
    /** Events `ev` received so far by `key` ("io:" prefix: the Manager's), waiting until there are n. */
    got(key, ev, n = 1, ms = WAIT) {
      const e = entry(key);
      const list = () => e.got.get(ev) ?? [];
      return within(ms, `${n} "${ev}" on ${key}`, (ok) => {
        const check = () => (list().length >= n ? ok(list()) : setTimeout(check, 10));
        check();
      });
    },
    /** emitWithAck with a timeout; the answer as plain data. */
    async ask(key, ev, ...args) {
      return plain(await entry(key).s.timeout(WAIT).emitWithAck(ev, ...args));
    },
    emit(key, ev, ...args) {
      entry(key).s.emit(ev, ...args);
    },
    state(key) {
      const s = entry(key).s;
      return { id: s.id, connected: s.connected, transport: s.io.engine.transport?.name };
    },
    /** Binary both ways: ArrayBuffer, Uint8Array and Blob, alone, nested, in acks and plain events. */
    async binary(key) {
      const s = entry(key).s;
      const out = {};
      out.arrayBuffer = plain(await s.timeout(WAIT).emitWithAck("echo", new Uint8Array([1, 2, 3]).buffer));
      out.uint8Array = plain(await s.timeout(WAIT).emitWithAck("echo", new Uint8Array([4, 5, 6])));
      out.blob = plain(await s.timeout(WAIT).emitWithAck("echo", new Blob([new Uint8Array([7, 8]), "9"])));
      out.nested = plain(
        await s.timeout(WAIT).emitWithAck("echo", { a: [new Uint16Array([258])], b: new Blob(["xy"]), c: "text" }),
      );
      // a plain event (the server echoes it as an event), in order with text around it
      const before = entry(key).got.get("echo").length;
      s.emit("echo", "first");
      s.emit("echo", new Blob([new Uint8Array([255, 0])]));
      s.emit("echo", "last");
      out.events = (await window.T.got(key, "echo", before + 3)).slice(before);
      return out;
    },
    close(key) {
      entry(key).s.io.disconnect();
      sockets.delete(key);
    },
  };
}
