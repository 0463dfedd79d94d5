// The socket.io-client API over core.wasm's client role: every protocol
// decision (packets, acks, reconnection, buffering, recovery) is the core's;
// this file opens transports (fetch, WebSocket), runs one timer and moves
// bytes and events (wasm/ABI.md §9.4).
import { Emitter, guard } from "./emitter.js";
import { compile, Machine } from "./core.js";
import { K, W, output, config, utf8, text } from "./abi.js";

const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);
const now0 = () => (globalThis.performance ? performance.now() : Date.now());
const asBin = globalThis.Buffer
  ? (u8) => globalThis.Buffer.from(u8.buffer, u8.byteOffset, u8.length)
  : (u8) => u8.buffer;

const isBlob = (v) => typeof Blob !== "undefined" && v instanceof Blob;
const isBin = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v) || isBlob(v);
// The attachments as bytes: a Blob is read first (asynchronously).
const readBlobs = (atts) => Promise.all(atts.map((a) => (isBlob(a) ? a.arrayBuffer() : a)));

// [event, ...args] → JSON with {"_placeholder":true,"num":i} for binary (socket.io-parser's deconstructPacket)
function deconstruct(v, atts) {
  if (v && typeof v === "object") {
    if (isBin(v)) {
      atts.push(v);
      return { _placeholder: true, num: atts.length - 1 };
    }
    if (Array.isArray(v)) return v.map((x) => deconstruct(x, atts));
    if (typeof v.toJSON === "function") return deconstruct(v.toJSON(), atts);
    const o = {};
    for (const k of Object.keys(v)) if (v[k] !== undefined) o[k] = deconstruct(v[k], atts);
    return o;
  }
  return v;
}

function reconstruct(v, atts) {
  if (v && typeof v === "object") {
    if (v._placeholder === true && typeof v.num === "number" && v.num < atts.length) return asBin(atts[v.num]);
    for (const k of Object.keys(v)) v[k] = reconstruct(v[k], atts);
  }
  return v;
}

function encodeArgs(list) {
  const atts = [];
  const data = JSON.stringify(deconstruct(list, atts));
  return [data, atts];
}

const decodeArgs = (json, atts) => reconstruct(JSON.parse(json), atts);
const ms = (v, d) => (v === false ? -1 : v === undefined || v === null ? d : v === Infinity ? 0 : v);

/** One connection to a server, shared by the sockets of its namespaces. */
export class Manager extends Emitter {
  constructor(uri, opts) {
    super();
    if (uri && typeof uri === "object" && !(uri instanceof URL)) [uri, opts] = [undefined, uri];
    opts = this.opts = { path: "/socket.io", ...opts };
    const loc = globalThis.location;
    const u = new URL(uri ?? loc?.href ?? "http://localhost", loc?.href);
    this.uri = u.href;
    this.nsps = {};
    this._q = []; // calls waiting for core.wasm, or behind a Blob being read: in order
    this._conns = new Map();
    this._acks = new Map();
    this._byId = new Map();
    this._t0 = now0();
    this._readyState = "closed";
    this.engine = new Engine(this);
    const q = new URLSearchParams(u.search);
    const oq = typeof opts.query === "string" ? new URLSearchParams(opts.query) : opts.query;
    for (const [k, v] of oq instanceof URLSearchParams ? oq : Object.entries(oq ?? {})) q.append(k, v);
    const seed = new Uint8Array(32);
    globalThis.crypto.getRandomValues(seed);
    this._cfg = {
      secure: u.protocol === "https:" || u.protocol === "wss:",
      host: u.host,
      path: opts.path,
      query: q.toString(),
      transports: opts.transports,
      noUpgrade: opts.upgrade === false,
      rememberUpgrade: !!opts.rememberUpgrade,
      tryAllTransports: !!opts.tryAllTransports,
      noTimestamp: opts.timestampRequests === false,
      noReconnection: opts.reconnection === false,
      attempts: ms(opts.reconnectionAttempts, 0),
      delay: ms(opts.reconnectionDelay, 1000),
      delayMax: ms(opts.reconnectionDelayMax, 5000),
      jitter: opts.randomizationFactor === 0 ? -1 : opts.randomizationFactor ?? 0.5,
      timeout: ms(opts.timeout, 20000),
      seed,
    };
    this._WS = opts.WebSocket ?? globalThis.WebSocket;
    this._ready = compile(opts.wasm).then(
      (mod) => {
        this.m = new Machine(mod);
        this._call(K.Config, config(this._cfg));
        this._flush();
      },
      (err) => {
        this._q = null;
        this.emit("error", err);
        for (const s of Object.values(this.nsps)) s.emitReserved("connect_error", err);
      },
    );
    if (opts.autoConnect !== false) this.open();
  }

  // ---- the driver: calls, the drain, the one timer ----

  _now() {
    return Math.round((now0() - this._t0) * 1e6) + 1;
  }
  _call(kind, rec) {
    return this.m.call(this._now(), kind, rec);
  }
  /**
   * Runs f against the machine, then drains: now, or once core.wasm is
   * loaded and every earlier call ran. An exception of f reaches the
   * caller when f ran at once, else it is reported asynchronously.
   */
  _do(f) {
    this._enqueue({ f, ready: true, mine: true });
  }
  /** Runs f(v) in order like _do, once the promise p gave v (a Blob read). */
  _doAfter(p, f) {
    const e = { ready: false };
    p.then(
      (v) => ((e.f = () => f(v)), (e.ready = true), this._flush()),
      (err) => ((e.f = () => { throw err; }), (e.ready = true), this._flush()), // reported, the call dropped
    );
    this._enqueue(e);
  }
  _enqueue(e) {
    if (!this._q) return; // core.wasm failed to load: "error" was emitted
    this._q.push(e);
    this._flush(e);
  }
  _flush(caller) {
    if (!this.m || this._flushing || !this._q) return;
    this._flushing = true;
    let thrown;
    try {
      while (this._q.length && this._q[0].ready) {
        const e = this._q.shift();
        try {
          e.f();
        } catch (err) {
          if (e === caller) thrown = { err };
          else guard(() => { throw err; });
        }
      }
    } finally {
      this._flushing = false;
    }
    this._drain();
    if (thrown) throw thrown.err;
  }
  _drain() {
    if (this._draining || !this.m) return;
    this._draining = true;
    try {
      for (let i = 0; i < 1e6; i++) {
        const [k, b] = this.m.poll();
        const o = output(k, b);
        if (k === K.Wait) return this._arm(o.deadline);
        this._perform(o);
      }
    } finally {
      this._draining = false;
    }
  }
  _arm(deadline) {
    clearTimeout(this._timer);
    this._timer = undefined;
    if (deadline > 0) {
      this._timer = setTimeout(() => this._do(() => this._call(K.Timeout, new Uint8Array(0))), Math.max(0, (deadline - this._now()) / 1e6));
      if (this.opts.autoUnref) this._timer.unref?.();
    }
  }
  _input(kind, w) {
    this._do(() => this._call(kind, w.done()));
  }

  _perform(o) {
    const e = this.engine;
    switch (o.k) {
      case K.Fetch:
        return this._fetch(o);
      case K.Dial:
        return this._dial(o);
      case K.Send: {
        const ws = this._conns.get(o.conn);
        if (ws && !(ws instanceof AbortController)) for (const f of o.frames) ws.send(f.bin ? f.data : text(f.data));
        return;
      }
      case K.CloseConn: {
        const c = this._conns.get(o.conn);
        this._conns.delete(o.conn);
        if (c) c.close ? c.close() : c.abort();
        return;
      }
      case K.EngineOpened:
        e.id = o.sid;
        e.transport = { name: o.transport };
        e.readyState = this._readyState = "open";
        e.emit("open");
        return this.emit("open");
      case K.EngineUpgraded:
        e.upgrading = false;
        e.transport = { name: o.transport };
        return e.emit("upgrade", e.transport);
      case K.EngineError:
        return this.emit("error", Object.assign(new Error(o.message), { description: o.description, type: "TransportError" }));
      case K.EngineClosed:
        e.readyState = this._readyState = "closed";
        e.upgrading = false;
        e.emit("close", o.message, o.description || undefined);
        return this.emit("close", o.message, o.description || undefined);
      case K.ReconnectAttempt:
        this._readyState = "opening";
        return this.emit("reconnect_attempt", o.attempt);
      case K.Reconnected:
        return this.emit("reconnect", o.attempt);
      case K.ReconnectError:
        return this.emit("reconnect_error", new Error(o.message));
      case K.ReconnectFailed:
        return this.emit("reconnect_failed");
    }
    const s = o.nsp !== undefined ? this.nsps[o.nsp] : this._byId.get(o.socket);
    switch (o.k) {
      case K.AckResolved: {
        const a = this._acks.get(o.ref);
        this._acks.delete(o.ref);
        if (!a) return;
        if (o.err === 0) {
          const args = decodeArgs(o.args || "[]", o.atts);
          return a.e ? guard(a.fn, s, [null, ...args]) : guard(a.fn, s, args);
        }
        if (a.e) guard(a.fn, s, [new Error(o.err === 1 ? "operation has timed out" : "socket has been disconnected")]);
        return;
      }
      case K.Connected: {
        const c = this.nsps[o.nsp];
        if (!c) return;
        this._byId.set(o.socket, c);
        return c._onconnect(o);
      }
    }
    if (!s) return;
    switch (o.k) {
      case K.Event:
        return s._onevent(o);
      case K.AuthRequested:
        return s._auth();
      case K.ConnectError: {
        const err = new Error(o.message);
        if (o.server) err.data = o.data ? JSON.parse(o.data) : undefined;
        else err.type = "TransportError";
        if (o.server) s._active = false;
        return s.emitReserved("connect_error", err);
      }
      case K.SocketDisconnected:
        this._byId.delete(o.socket);
        return s._ondisconnect(o.reason, o.description);
    }
  }

  _fetch(o) {
    const ac = new AbortController();
    this._conns.set(o.conn, ac);
    const headers = { ...this.opts.extraHeaders };
    if (o.type) headers["content-type"] = o.type;
    const done = (w) => {
      if (this._conns.get(o.conn) !== ac) return;
      this._conns.delete(o.conn);
      this._input(w[0], w[1]);
    };
    fetch(o.url, {
      method: o.method,
      body: o.method === "POST" ? o.body : undefined,
      headers,
      signal: ac.signal,
      credentials: this.opts.withCredentials ? "include" : "same-origin",
    })
      .then(async (r) => {
        const body = new Uint8Array(await r.arrayBuffer());
        if (o.method === "GET" && r.ok) for (const p of text(body).split("\x1e")) if (p === "2") this._ping();
        done([K.HTTPResponse, new W().i64(o.conn).i64(r.status).bytes(body)]);
      })
      .catch(() => done([K.Closed, new W().i64(o.conn).bool(true)]));
  }

  _dial(o) {
    const WS = this._WS;
    const closed = () => this._input(K.Closed, new W().i64(o.conn).bool(true));
    if (!WS) return closed();
    const h = this.opts.extraHeaders;
    // workerd's WebSocket constructor takes no headers: a fetch with Upgrade does
    if (h && globalThis.WebSocketPair && !this.opts.WebSocket) return this._upgradeFetch(o, h, closed);
    let ws;
    try {
      ws = h && !globalThis.document ? new WS(o.url, { headers: h }) : new WS(o.url);
    } catch {
      return closed();
    }
    this._wire(o, ws, false);
  }
  /** workerd: the WebSocket of a fetch answered 101, accepted (it fires no "open"). */
  _upgradeFetch(o, h, closed) {
    const ac = new AbortController();
    this._conns.set(o.conn, ac);
    if (this.engine.transport?.name === "polling") this.engine.upgrading = true;
    const failed = () => {
      if (this._conns.get(o.conn) !== ac) return;
      this._conns.delete(o.conn);
      this.engine.upgrading = false;
      closed();
    };
    fetch(o.url.replace(/^ws/, "http"), { headers: { ...h, upgrade: "websocket" }, signal: ac.signal }).then((r) => {
      const ws = r.webSocket;
      if (!ws) return failed();
      if (this._conns.get(o.conn) !== ac) return ws.accept(), ws.close();
      ws.accept();
      this._wire(o, ws, true);
    }, failed);
  }
  _wire(o, ws, open) {
    ws.binaryType = "arraybuffer";
    this._conns.set(o.conn, ws);
    if (this.engine.transport?.name === "polling") this.engine.upgrading = true;
    let opened = false;
    const mine = () => this._conns.get(o.conn) === ws;
    const onopen = () => {
      opened = true;
      if (mine()) this._input(K.Dialed, new W().i64(o.conn));
    };
    ws.onmessage = (ev) => {
      if (!mine()) return;
      const bin = typeof ev.data !== "string";
      if (ev.data === "2") this._ping();
      this._input(K.Recv, new W().i64(o.conn).bytes(bin ? ev.data : utf8(ev.data)).bool(bin));
    };
    // a failed handshake may fire only "error" (Node's undici), an open one "close"
    const end = (error) => {
      if (!mine()) return;
      this._conns.delete(o.conn);
      if (!opened) this.engine.upgrading = false;
      this._input(K.Closed, new W().i64(o.conn).bool(error));
    };
    ws.onerror = () => end(true);
    ws.onclose = () => end(!opened);
    if (open) onopen();
    else ws.onopen = onopen;
  }

  _ping() {
    this.engine.emit("ping");
    this.emit("ping");
  }

  // ---- the Manager API ----

  /** The socket of namespace nsp on this connection (one per namespace). */
  socket(nsp, opts) {
    return this.nsps[nsp] ?? new Socket(this, nsp, opts ?? {});
  }
  /** Opens the connection (manager.open); fn(err) when it opened or failed. */
  open(fn) {
    if (fn) {
      const ok = () => (this.off("error", ko), fn());
      const ko = (err) => (this.off("open", ok), fn(err));
      this.once("open", ok).once("error", ko);
    }
    if (this._readyState === "closed") this._readyState = "opening";
    this._do(() => this._call(K.Open, new Uint8Array(0)));
    return this;
  }
  connect(fn) {
    return this.open(fn);
  }
  /** Closes the connection for good: every socket disconnects, no reconnection. */
  disconnect() {
    this._do(() => this._call(K.Close, new Uint8Array(0)));
  }
  close() {
    this.disconnect();
  }
  reconnection() {
    return !this._cfg.noReconnection;
  }
  reconnectionAttempts() {
    return this._cfg.attempts || Infinity;
  }
  reconnectionDelay() {
    return this._cfg.delay;
  }
  reconnectionDelayMax() {
    return this._cfg.delayMax;
  }
  timeout() {
    return this._cfg.timeout < 0 ? false : this._cfg.timeout;
  }
}

/**
 * The Engine.IO connection as the official client exposes it
 * (manager.engine), read-only but for close(): the transport closes with
 * "forced close" and the manager reconnects (a lost connection, not
 * manager.disconnect()).
 */
class Engine extends Emitter {
  constructor(io) {
    super();
    this.io = io;
    this.id = undefined;
    this.transport = undefined;
    this.upgrading = false;
    this.readyState = "closed";
  }
  close() {
    const io = this.io;
    io._do(() => io._call(K.CloseEngine, new Uint8Array(0)));
    return this;
  }
}

/** One namespace socket (socket.io-client's Socket). */
export class Socket extends Emitter {
  constructor(io, nsp, opts) {
    super();
    io.nsps[nsp] = this; // before any output about it can come
    this.io = io;
    this.nsp = nsp;
    this.id = undefined;
    this.connected = false;
    this.recovered = false;
    this.auth = opts.auth;
    this.flags = {};
    this._opts = opts;
    this._any = [];
    this._anyOut = [];
    const w = new W().str(nsp).bytes(null).bool(true).i64(opts.retries ?? 0).i64((opts.ackTimeout ?? 0) * 1e6);
    io._do(() => io._call(K.AddSocket, w.done()));
    if (io.opts.autoConnect !== false) this.connect();
  }
  get disconnected() {
    return !this.connected;
  }
  get active() {
    return !!this._active;
  }
  connect() {
    if (this.connected) return this;
    this._active = true;
    const nsp = this.nsp;
    this.io._do(() => this.io._call(K.Connect, new W().str(nsp).done()));
    return this;
  }
  open() {
    return this.connect();
  }
  disconnect() {
    this._active = false;
    this.io._do(() => this.io._call(K.Disconnect, new W().str(this.nsp).done()));
    return this;
  }
  close() {
    return this.disconnect();
  }
  send(...args) {
    return this.emit("message", ...args);
  }
  timeout(t) {
    this.flags.timeout = t;
    return this;
  }
  get volatile() {
    this.flags.volatile = true;
    return this;
  }
  compress(c) {
    this.flags.compress = c;
    return this;
  }
  emit(ev, ...args) {
    if (RESERVED.has(ev)) throw new Error(`"${String(ev)}" is a reserved event name`);
    const fn = typeof args[args.length - 1] === "function" ? args.pop() : null;
    const f = this.flags;
    this.flags = {};
    const t = f.timeout ?? this._opts.ackTimeout;
    for (const l of [...this._anyOut]) guard(l, this, [ev, ...args]);
    const [data, atts] = encodeArgs([ev, ...args]);
    const io = this.io;
    const send = (atts) => {
      const w = new W().str(this.nsp).str(data).list(atts, W.prototype.bytes).bool(!!fn).i64((f.timeout ?? 0) * 1e6);
      const rep = io._call(K.Emit, w.bool(!!f.volatile).bool(f.compress !== false).done());
      const ref = Number(new DataView(rep.buffer).getBigUint64(0, true));
      if (fn && ref) io._acks.set(ref, { fn, e: t !== undefined });
    };
    if (atts.some(isBlob)) io._doAfter(readBlobs(atts), send);
    else io._do(() => send(atts));
    return this;
  }
  emitWithAck(ev, ...args) {
    const e = this.flags.timeout !== undefined || this._opts.ackTimeout !== undefined;
    return new Promise((resolve, reject) => {
      args.push((a, b) => (e ? (a ? reject(a) : resolve(b)) : resolve(a)));
      this.emit(ev, ...args);
    });
  }
  onAny(fn) {
    this._any.push(fn);
    return this;
  }
  prependAny(fn) {
    this._any.unshift(fn);
    return this;
  }
  offAny(fn) {
    this._any = fn ? this._any.filter((x) => x !== fn) : [];
    return this;
  }
  listenersAny() {
    return [...this._any];
  }
  onAnyOutgoing(fn) {
    this._anyOut.push(fn);
    return this;
  }
  prependAnyOutgoing(fn) {
    this._anyOut.unshift(fn);
    return this;
  }
  offAnyOutgoing(fn) {
    this._anyOut = fn ? this._anyOut.filter((x) => x !== fn) : [];
    return this;
  }
  listenersAnyOutgoing() {
    return [...this._anyOut];
  }

  _auth() {
    const io = this.io;
    const set = (a) =>
      io._do(() => io._call(K.SetAuth, new W().str(this.nsp).bytes(a == null ? null : utf8(JSON.stringify(a))).done()));
    typeof this.auth === "function" ? this.auth(set) : set(this.auth);
  }
  _onconnect(o) {
    this.id = o.socket;
    this.connected = true;
    this.recovered = o.recovered;
    this.emitReserved("connect");
  }
  _onevent(o) {
    const args = decodeArgs(o.data, o.atts);
    if (o.ack) {
      let sent = false;
      args.push((...a) => {
        if (sent) return;
        sent = true;
        const [data, atts] = encodeArgs(a);
        const send = (atts) => {
          try {
            this.io._call(K.Ack, new W().i64(o.ack).str(data).list(atts, W.prototype.bytes).done());
          } catch {} // the socket is gone: the server no longer waits
        };
        if (atts.some(isBlob)) this.io._doAfter(readBlobs(atts), send);
        else this.io._do(() => send(atts));
      });
    }
    for (const l of [...this._any]) guard(l, this, args);
    this.emitReserved(...args);
  }
  _ondisconnect(reason, description) {
    this.connected = false;
    this.id = undefined;
    if (reason === "io server disconnect") this._active = false;
    this.emitReserved("disconnect", reason, description || undefined);
  }
}

const cache = new Map();

/** io(url, opts): the socket of url's namespace, on a cached Manager unless forceNew or multiplex: false. */
export function io(uri, opts) {
  if (uri && typeof uri === "object" && !(uri instanceof URL)) [uri, opts] = [undefined, uri];
  opts = opts ?? {};
  const loc = globalThis.location;
  const u = new URL(uri ?? loc?.href ?? "http://localhost", loc?.href);
  const path = opts.path ?? "/socket.io";
  const id = `${u.protocol}//${u.host}${path}`;
  const nsp = u.pathname || "/";
  const same = cache.has(id) && nsp in cache.get(id).nsps;
  let m;
  if (opts.forceNew || opts["force new connection"] || opts.multiplex === false || same) m = new Manager(uri, opts);
  else {
    if (!cache.has(id)) cache.set(id, new Manager(uri, opts));
    m = cache.get(id);
  }
  return m.socket(nsp, opts);
}

export { io as connect };
export const protocol = 5;
