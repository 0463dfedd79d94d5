// A small Socket.IO server API over core.wasm's outputs, in the shape of
// Node's socket.io: io.of(name | RegExp), nsp.use(mw), nsp.on("connection"),
// socket.on/emit/join/leave/to/except/timeout/emitWithAck/disconnect, acks
// both ways, broadcasts with acks, socket.data, connection state recovery.
// The protocol is the core's; this file maps ids and refs to JS objects and
// callbacks (closures cannot cross the WASM boundary: STYLE.md §3).
//
// It is host-agnostic: the host gives it a Machine (core.js) and performs
// the transport outputs; the server calls host.touch(sid) for every session
// whose state a command changed (the Durable Object snapshots those).
import { K, Writer, Reader } from "./core.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

function isBinary(v) {
  return v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}
function toBytes(v) {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** encodeArgs turns JS values into the JSON array + attachments form (binary → placeholders). */
export function encodeArgs(values) {
  const atts = [];
  const walk = (v) => {
    if (isBinary(v)) {
      atts.push(toBytes(v));
      return { _placeholder: true, num: atts.length - 1 };
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object" && !(v instanceof Date) && typeof v.toJSON !== "function") {
      const o = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined && typeof x !== "function") o[k] = walk(x);
      return o;
    }
    return v;
  };
  const json = JSON.stringify(values.map(walk));
  return { data: enc.encode(json), atts };
}

/** decodeArgs parses a JSON array and puts the attachments (Uint8Array) back. */
export function decodeArgs(data, atts) {
  if (!data || data.length === 0) return [];
  const v = JSON.parse(dec.decode(data));
  if (!atts || atts.length === 0) return v;
  const walk = (x) => {
    if (x && typeof x === "object") {
      if (x._placeholder === true && typeof x.num === "number" && Object.keys(x).length === 2) return atts[x.num];
      if (Array.isArray(x)) return x.map(walk);
      for (const k of Object.keys(x)) x[k] = walk(x[k]);
    }
    return x;
  };
  return walk(v);
}

const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

class Emitter {
  constructor() { this._l = new Map(); }
  on(ev, fn) { if (!this._l.has(ev)) this._l.set(ev, []); this._l.get(ev).push(fn); return this; }
  off(ev, fn) { const l = this._l.get(ev); if (l) { const i = l.indexOf(fn); if (i >= 0) l.splice(i, 1); } return this; }
  listeners(ev) { return this._l.get(ev) ?? []; }
  _fire(ev, ...args) { for (const fn of [...this.listeners(ev)]) fn(...args); }
}

/** Broadcast operators: to/in/except/timeout/volatile/compress, then emit. */
class BroadcastOperator {
  constructor(nsp, rooms = [], except = [], flags = {}) {
    this.nsp = nsp; this.rooms = rooms; this.exceptRooms = except; this.flags = flags;
  }
  to(room) { return new BroadcastOperator(this.nsp, [...this.rooms, ...[].concat(room)], this.exceptRooms, this.flags); }
  in(room) { return this.to(room); }
  except(room) { return new BroadcastOperator(this.nsp, this.rooms, [...this.exceptRooms, ...[].concat(room)], this.flags); }
  timeout(ms) { return new BroadcastOperator(this.nsp, this.rooms, this.exceptRooms, { ...this.flags, timeout: ms }); }
  get volatile() { return new BroadcastOperator(this.nsp, this.rooms, this.exceptRooms, { ...this.flags, volatile: true }); }
  compress(c) { return new BroadcastOperator(this.nsp, this.rooms, this.exceptRooms, { ...this.flags, compress: c }); }
  emit(event, ...args) {
    const io = this.nsp.server;
    let cb = null;
    if (typeof args[args.length - 1] === "function") cb = args.pop();
    const { data, atts } = encodeArgs([event, ...args]);
    const w = new Writer().str(this.nsp.name).strs(this.rooms).strs(this.exceptRooms).bytes(data).bytesList(atts);
    w.bool(!!this.flags.volatile).bool(!!this.flags.compress).bool(true); // local: one object, no cluster
    w.bool(!!cb).dur(cb ? this.flags.timeout ?? 0 : 0);
    const reply = io._command(K.Broadcast, w.done(), () => {
      if (cb) io._touchAll(); // every target now waits: snapshot them all
    });
    if (cb) {
      const r = new Reader(reply);
      io._acks.set(r.u64(), { broadcast: true, cb });
    }
    return true;
  }
  emitWithAck(event, ...args) {
    return new Promise((resolve, reject) => this.emit(event, ...args, (err, res) => (err ? reject(err) : resolve(res))));
  }
}

export class Namespace extends Emitter {
  constructor(server, name) {
    super();
    this.server = server;
    this.name = name;
    this.sockets = new Map();
    this._mw = [];
  }
  use(fn) { this._mw.push(fn); return this; }
  to(room) { return new BroadcastOperator(this).to(room); }
  in(room) { return this.to(room); }
  except(room) { return new BroadcastOperator(this).except(room); }
  timeout(ms) { return new BroadcastOperator(this).timeout(ms); }
  get volatile() { return new BroadcastOperator(this).volatile; }
  emit(event, ...args) { return new BroadcastOperator(this).emit(event, ...args); }
  emitWithAck(event, ...args) { return new BroadcastOperator(this).emitWithAck(event, ...args); }
}

class ParentNamespace {
  constructor(server, re) { this.server = server; this.re = re; this.children = new Set(); this._setup = []; }
  use(fn) { this._setup.push((n) => n.use(fn)); for (const c of this.children) c.use(fn); return this; }
  on(ev, fn) { this._setup.push((n) => n.on(ev, fn)); for (const c of this.children) c.on(ev, fn); return this; }
}

export class Socket extends Emitter {
  constructor(nsp, id, sid, handshake) {
    super();
    this.nsp = nsp;
    this.server = nsp.server;
    this.id = id;
    this.sid = sid;
    this.handshake = handshake;
    this.data = {};
    this.recovered = false;
    this.woke = false; // restored after the Durable Object hibernated (its handlers run again)
    this.connected = true;
    this._flags = {};
  }
  get rooms() {
    const reply = this.server._query(K.Rooms, new Writer().str(this.id).done());
    return new Set(reply ? new Reader(reply).strs() : []);
  }
  get conn() {
    return { transport: { name: this.server._transport(this.id) } };
  }
  timeout(ms) { const s = Object.create(this); s._flags = { ...this._flags, timeout: ms }; return s; }
  get volatile() { const s = Object.create(this); s._flags = { ...this._flags, volatile: true }; return s; }
  compress(c) { const s = Object.create(this); s._flags = { ...this._flags, compress: c }; return s; }
  emit(event, ...args) {
    if (RESERVED.has(event)) throw new Error(`"${event}" is a reserved event name`);
    let cb = null;
    if (typeof args[args.length - 1] === "function") cb = args.pop();
    const { data, atts } = encodeArgs([event, ...args]);
    const w = new Writer().str(this.id).bytes(data).bytesList(atts).bool(!!cb).dur(cb ? this._flags.timeout ?? 0 : 0);
    w.bool(!!this._flags.volatile).bool(!!this._flags.compress);
    let reply;
    try {
      reply = this.server._command(K.Emit, w.done(), () => this.server._touch(this.sid));
    } catch (e) {
      if (e.status === -16) return false; // disconnected
      throw e;
    }
    if (cb) this.server._acks.set(new Reader(reply).u64(), { cb, timeout: this._flags.timeout !== undefined });
    return true;
  }
  emitWithAck(event, ...args) {
    const s = this._flags.timeout === undefined ? this : this;
    return new Promise((resolve, reject) =>
      s.emit(event, ...args, (...res) => {
        if (this._flags.timeout !== undefined) {
          const [err, ...rest] = res;
          return err ? reject(err) : resolve(rest[0]);
        }
        resolve(res[0]);
      }),
    );
  }
  join(rooms) {
    this.server._command(K.Join, new Writer().str(this.id).strs([].concat(rooms)).done(), () => this.server._touch(this.sid));
  }
  leave(room) {
    this.server._command(K.Leave, new Writer().str(this.id).str(room).done(), () => this.server._touch(this.sid));
  }
  to(room) { return new BroadcastOperator(this.nsp, [], [this.id]).to(room); }
  in(room) { return this.to(room); }
  except(room) { return new BroadcastOperator(this.nsp, [], [this.id]).except(room); }
  get broadcast() { return new BroadcastOperator(this.nsp, [], [this.id]); }
  disconnect(close = false) {
    try {
      this.server._command(K.Disconnect, new Writer().str(this.id).bool(!!close).done(), () => this.server._touch(this.sid));
    } catch (e) {
      if (e.status !== -16) throw e;
    }
    return this;
  }
}

const TIMED_OUT = "operation has timed out";

/**
 * Server is the application's `io`. Options: recovery ({maxDisconnectionDuration, skipMiddlewares}).
 * host: {touch(sid), handshake(sid) → {query, headers}, onError(err)}.
 */
export class Server extends Emitter {
  constructor(opts = {}) {
    super();
    this.opts = opts;
    this.machine = null;
    this.host = null;
    this._nsps = new Map();
    this._parents = [];
    this._sockets = new Map(); // socket id → Socket
    this._acks = new Map(); // ref (bigint) → {cb, broadcast, timeout}
    this._pending = new Map(); // socket id → ConnectRequested
    this.of("/");
  }

  /** attach binds the server to a machine (after the app registered its namespaces). */
  attach(machine, host) {
    this.machine = machine;
    this.host = host;
    for (const n of this._nsps.values()) this._addNamespace(n.name);
  }

  _addNamespace(name) {
    // every namespace is gated, so the application sees auth before Connected
    if (this.machine) this.machine.handle(K.AddNamespace, new Writer().str(name).bool(true).done());
  }

  of(name) {
    if (name instanceof RegExp) {
      const p = new ParentNamespace(this, name);
      this._parents.push(p);
      return p;
    }
    if (!name.startsWith("/")) name = "/" + name;
    let n = this._nsps.get(name);
    if (!n) {
      n = new Namespace(this, name);
      this._nsps.set(name, n);
      this._addNamespace(name);
    }
    return n;
  }
  get sockets() { return this.of("/"); }
  use(fn) { this.of("/").use(fn); return this; }
  on(ev, fn) { if (ev === "connection" || ev === "connect") this.of("/").on("connection", fn); else super.on(ev, fn); return this; }
  to(room) { return this.of("/").to(room); }
  in(room) { return this.of("/").to(room); }
  except(room) { return this.of("/").except(room); }
  emit(ev, ...args) { return this.of("/").emit(ev, ...args); }
  timeout(ms) { return this.of("/").timeout(ms); }

  /** dynamicNamespaces tells the Config whether parent namespaces (regexes) exist. */
  get dynamicNamespaces() { return this._parents.length > 0; }

  _command(kind, rec, touched) {
    const reply = this.machine.call(kind, rec);
    if (touched) touched();
    this.machine.drain();
    return reply;
  }
  _query(kind, rec) {
    try { return this.machine.call(kind, rec); } catch (e) { if (e.status === -16) return null; throw e; }
  }
  _transport(id) {
    const r = this._query(0x020b, new Writer().str(id).done());
    return r ? new Reader(r).str() : "";
  }
  _touch(sid) { if (sid && this.host) this.host.touch(sid); }
  _touchAll() { if (this.host) this.host.touchAll(); }

  _later(fn) {
    // application code running outside a drain (async middleware, timers)
    Promise.resolve().then(fn).catch((e) => this.host?.onError?.(e));
  }

  _findNamespace(name) {
    let n = this._nsps.get(name);
    if (n) return n;
    for (const p of this._parents) {
      if (p.re.test(name)) {
        n = new Namespace(this, name);
        this._nsps.set(name, n);
        p.children.add(n);
        for (const f of p._setup) f(n);
        return n;
      }
    }
    return null;
  }

  /** output handles one Socket.IO notification of the drain. */
  output(o) {
    switch (o.kind) {
      case K.ConnectRequested: return this._connectRequested(o);
      case K.Connected: return this._connected(o);
      case K.EventReceived: return this._event(o);
      case K.AckResolved: return this._ackResolved(o);
      case K.BroadcastAckResolved: return this._broadcastAckResolved(o);
      case K.Disconnecting: {
        const s = this._sockets.get(o.socket);
        if (s) s._fire("disconnecting", o.reason);
        return;
      }
      case K.Disconnected: return this._disconnected(o);
    }
  }

  _connectRequested(o) {
    const n = this._findNamespace(o.nsp);
    this._touch(o.sid);
    if (!n) {
      this.machine.call(K.RejectConnect, new Writer().str(o.socket).str("Invalid namespace").bytes(null).done());
      return;
    }
    let auth = {};
    try { auth = JSON.parse(dec.decode(o.auth)); } catch {}
    const hs = this.host?.handshake?.(o.sid) ?? {};
    const s = new Socket(n, o.socket, o.sid, { auth, query: hs.query ?? {}, headers: hs.headers ?? {}, time: new Date().toString(), issued: Date.now() });
    if (o.recovered) {
      s.recovered = true;
      if (o.data && o.data.length) s.data = JSON.parse(dec.decode(o.data));
    }
    this._pending.set(o.socket, s);
    const accept = () => this.machine.call(K.AcceptConnect, new Writer().str(o.socket).done());
    const reject = (err) => {
      const data = err && err.data !== undefined ? enc.encode(JSON.stringify(err.data)) : null;
      this.machine.call(K.RejectConnect, new Writer().str(o.socket).str(String(err?.message ?? err)).bytes(data).done());
    };
    const mws = o.recovered && this.opts.recovery?.skipMiddlewares !== false ? [] : n._mw;
    if (mws.length === 0) {
      accept();
      return;
    }
    // middleware may be asynchronous: run it, then decide (and drain)
    let i = 0;
    let sync = true;
    const run = (decide) => {
      if (sync) decide();
      else this._later(() => { decide(); this.machine.drain(); });
    };
    const next = (err) => {
      if (err) return run(() => { this._pending.delete(o.socket); reject(err); });
      if (i >= mws.length) return run(accept);
      const mw = mws[i++];
      try { mw(s, next); } catch (e) { next(e); }
    };
    next();
    sync = false;
  }

  _connected(o) {
    let s = this._pending.get(o.socket);
    this._pending.delete(o.socket);
    const n = this._findNamespace(o.nsp);
    if (!s) s = new Socket(n, o.socket, o.sid, { auth: {}, query: {} });
    this._sockets.set(o.socket, s);
    n.sockets.set(o.socket, s);
    this._touch(o.sid);
    n._fire("connection", s);
  }

  /** restored brings a socket back after hibernation: its handlers run again with socket.woke. */
  restored(id, nspName, sid, meta = {}) {
    const n = this._findNamespace(nspName) ?? this.of(nspName);
    const s = new Socket(n, id, sid, meta.handshake ?? { auth: {}, query: {} });
    s.data = meta.data ?? {};
    s.recovered = !!meta.recovered;
    s.woke = true;
    this._sockets.set(id, s);
    n.sockets.set(id, s);
    n._fire("connection", s);
    return s;
  }

  _event(o) {
    const s = this._sockets.get(o.socket);
    if (!s) return;
    this._touch(s.sid);
    let args;
    try { args = decodeArgs(o.data, o.attachments); } catch { return; }
    args.shift(); // the event name
    if (o.ack !== 0n) {
      let done = false;
      const ref = o.ack;
      args.push((...res) => {
        if (done) return;
        done = true;
        const { data, atts } = encodeArgs(res);
        try {
          this._command(K.Ack, new Writer().u64(ref).bytes(data).bytesList(atts).done(), () => this._touch(s.sid));
        } catch (e) {
          if (e.status !== -20) throw e; // the socket left meanwhile
        }
      });
    }
    s._fire(o.name, ...args);
  }

  _ackResolved(o) {
    const a = this._acks.get(o.ref);
    if (!a) return; // its callback was lost (the object hibernated): see README
    this._acks.delete(o.ref);
    const s = this._sockets.get(o.socket);
    if (s) this._touch(s.sid);
    if (o.err === 1) return a.cb(new Error(TIMED_OUT));
    if (o.err === 2) return a.timeout ? a.cb(new Error("socket has been disconnected")) : undefined;
    let args;
    try { args = decodeArgs(o.args, o.attachments); } catch { args = []; }
    return a.timeout ? a.cb(null, ...args) : a.cb(...args);
  }

  _broadcastAckResolved(o) {
    const a = this._acks.get(o.ref);
    if (!a) return;
    this._acks.delete(o.ref);
    const responses = o.replies.map((r) => {
      try { return decodeArgs(r.args, r.attachments)[0]; } catch { return undefined; }
    });
    a.cb(o.timedOut ? new Error(TIMED_OUT) : null, responses);
  }

  _disconnected(o) {
    const s = this._sockets.get(o.socket);
    if (!s) return;
    this._sockets.delete(o.socket);
    s.nsp.sockets.delete(o.socket);
    s.connected = false;
    this._touch(s.sid);
    if (this.opts.recovery && !this.opts.recovery.store) {
      // (with the store, the host gives socket.data with the saved session)
      try {
        this.machine.call(K.SetRecoveryData, new Writer().str(s.id).bytes(enc.encode(JSON.stringify(s.data ?? {}))).done());
      } catch (e) {
        if (e.status !== -16) throw e; // not saved (left on purpose)
      }
    }
    s._fire("disconnect", o.reason);
  }
}
