// The JS side of core.wasm's ABI (wasm/ABI.md, version 3) for the server
// role: the record codec for the kinds this host uses, and Machine, which
// drives one instance exactly as wasm/host/machine.go (the reference host)
// does: one sio_handle per input or command, sio_poll until Wait.
import { WASI } from "../../../sdk/js/src/wasi.js";

export const ABI_VERSION = 3;

export const K = {
  Init: 0x0001,
  HTTPRequest: 0x0101, Recv: 0x0102, Closed: 0x0103, Timeout: 0x0104, RecoveryFound: 0x0107,
  AddNamespace: 0x0201, AcceptConnect: 0x0202, RejectConnect: 0x0203, Emit: 0x0204, Ack: 0x0205,
  Broadcast: 0x0206, Join: 0x0207, Leave: 0x0208, Rooms: 0x0209, SocketsIn: 0x020c, Disconnect: 0x020d,
  Close: 0x020e, Stats: 0x020f, SetRecoveryData: 0x0217, Snapshot: 0x0220, Restore: 0x0221,
  Respond: 0x1001, AcceptWebSocket: 0x1002, Send: 0x1003, BroadcastOut: 0x1004, CloseConn: 0x1005, Wait: 0x1006,
  SessionOpened: 0x1101, SessionUpgraded: 0x1102, SessionClosed: 0x1103, MessageReceived: 0x1104,
  ConnectRequested: 0x1201, Connected: 0x1202, EventReceived: 0x1203, AckResolved: 0x1204,
  BroadcastAckResolved: 0x1205, Disconnecting: 0x1206, Disconnected: 0x1207,
  RoomCreated: 0x1504, RoomDeleted: 0x1505,
  RecoveryRecord: 0x1601, RecoverySession: 0x1602, RecoveryLookup: 0x1603,
};

const STATUS = {
  [-1]: "bad record", [-2]: "unknown kind", [-3]: "bad state", [-4]: "out of bounds", [-5]: "unsupported role",
  [-16]: "unknown socket", [-17]: "unknown namespace", [-18]: "namespace exists", [-19]: "unknown input",
  [-20]: "unknown ack", [-21]: "unknown session", [-27]: "bad snapshot", [-28]: "snapshot conflict", [-31]: "other error",
};

/** StatusError is a negative status from sio_handle (wasm/ABI.md §7). */
export class StatusError extends Error {
  constructor(status, kind) {
    super(`core.wasm: kind 0x${kind.toString(16)}: ${STATUS[status] ?? "status " + status} (${status})`);
    this.status = status;
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const MS = 1000000n;

/** Writer appends ABI fields (§8.1) to a growing byte array. */
export class Writer {
  constructor(size = 256) {
    this.b = new Uint8Array(size);
    this.n = 0;
  }
  _room(k) {
    if (this.n + k <= this.b.length) return;
    const nb = new Uint8Array(Math.max(this.b.length * 2, this.n + k));
    nb.set(this.b.subarray(0, this.n));
    this.b = nb;
  }
  u8(v) { this._room(1); this.b[this.n++] = v; return this; }
  bool(v) { return this.u8(v ? 1 : 0); }
  u32(v) { this._room(4); new DataView(this.b.buffer).setUint32(this.n, v, true); this.n += 4; return this; }
  u64(v) { this._room(8); new DataView(this.b.buffer).setBigUint64(this.n, BigInt.asUintN(64, BigInt(v)), true); this.n += 8; return this; }
  i64(v) { return this.u64(BigInt.asUintN(64, BigInt(v))); }
  dur(ms) { return this.i64(BigInt(Math.round(ms)) * MS); }
  raw(p) { this._room(p.length); this.b.set(p, this.n); this.n += p.length; return this; }
  bytes(p) { p = p ?? new Uint8Array(0); if (typeof p === "string") p = enc.encode(p); this.u32(p.length); return this.raw(p); }
  str(s) { return this.bytes(enc.encode(s ?? "")); }
  strs(l) { l = l ?? []; this.u32(l.length); for (const s of l) this.str(s); return this; }
  bytesList(l) { l = l ?? []; this.u32(l.length); for (const p of l) this.bytes(p); return this; }
  done() { return this.b.subarray(0, this.n); }
}

/** Reader reads ABI fields; it copies byte strings (the area is reused). */
export class Reader {
  constructor(b) { this.b = b; this.v = new DataView(b.buffer, b.byteOffset, b.byteLength); this.o = 0; }
  u8() { return this.b[this.o++]; }
  bool() { return this.u8() === 1; }
  u32() { const v = this.v.getUint32(this.o, true); this.o += 4; return v; }
  u64() { const v = this.v.getBigUint64(this.o, true); this.o += 8; return v; }
  num() { return Number(this.u64()); }
  i64() { const v = this.v.getBigInt64(this.o, true); this.o += 8; return v; }
  bytes() { const n = this.u32(); const p = this.b.slice(this.o, this.o + n); this.o += n; return p; }
  str() { const n = this.u32(); const s = dec.decode(this.b.subarray(this.o, this.o + n)); this.o += n; return s; }
  strs() { const n = this.u32(); const l = []; for (let i = 0; i < n; i++) l.push(this.str()); return l; }
  bytesList() { const n = this.u32(); const l = []; for (let i = 0; i < n; i++) l.push(this.bytes()); return l; }
  frames() { const n = this.u32(); const l = []; for (let i = 0; i < n; i++) { const binary = this.bool(); l.push({ binary, data: this.bytes() }); } return l; }
}

/** Decodes one output record (sio_poll) into a plain object with `kind`. */
export function decodeOutput(kind, rec) {
  const r = new Reader(rec);
  switch (kind) {
    case K.Respond: return { kind, conn: r.num(), status: r.num(), contentType: r.str(), body: r.bytes(), compress: r.bool() };
    case K.AcceptWebSocket: return { kind, conn: r.num() };
    case K.Send: return { kind, conn: r.num(), frames: r.frames(), volatile: r.bool(), compress: r.bool() };
    case K.BroadcastOut: {
      const n = r.u32(); const conns = []; for (let i = 0; i < n; i++) conns.push(r.num());
      return { kind, conns, frames: r.frames(), volatile: r.bool(), compress: r.bool() };
    }
    case K.CloseConn: return { kind, conn: r.num() };
    case K.Wait: return { kind, deadline: r.i64() };
    case K.SessionOpened: return { kind, sid: r.str(), conn: r.num(), websocket: r.bool() };
    case K.SessionUpgraded: return { kind, sid: r.str(), conn: r.num() };
    case K.SessionClosed: return { kind, sid: r.str(), reason: r.str() };
    case K.ConnectRequested:
      return { kind, socket: r.str(), sid: r.str(), nsp: r.str(), auth: r.bytes(), known: r.bool(), recovered: r.bool(), data: r.bytes() };
    case K.Connected: return { kind, socket: r.str(), sid: r.str(), nsp: r.str(), recovered: r.bool(), data: r.bytes() };
    case K.EventReceived:
      return { kind, socket: r.str(), name: r.str(), data: r.bytes(), attachments: r.bytesList(), ack: r.u64() };
    case K.AckResolved: return { kind, ref: r.u64(), socket: r.str(), args: r.bytes(), attachments: r.bytesList(), err: r.u8() };
    case K.BroadcastAckResolved: {
      const ref = r.u64(); const n = r.u32(); const replies = [];
      for (let i = 0; i < n; i++) replies.push({ socket: r.str(), args: r.bytes(), attachments: r.bytesList() });
      return { kind, ref, replies, timedOut: r.bool() };
    }
    case K.Disconnecting: return { kind, socket: r.str(), reason: r.str(), rooms: r.strs() };
    case K.Disconnected: return { kind, socket: r.str(), reason: r.str() };
    case K.RoomCreated: case K.RoomDeleted: return { kind, nsp: r.str(), room: r.str() };
    case K.RecoveryRecord:
      return { kind, nsp: r.str(), packet: { offset: r.str(), rooms: r.strs(), except: r.strs(), data: r.bytes(), attachments: r.bytesList() } };
    case K.RecoverySession:
      return { kind, state: r.u8(), pid: r.str(), socket: r.str(), nsp: r.str(), rooms: r.strs(), node: r.str(), data: r.bytes() };
    case K.RecoveryLookup: return { kind, ref: r.u64(), nsp: r.str(), pid: r.str(), offset: r.str(), node: r.str() };
  }
  return { kind, raw: rec.slice() };
}

/**
 * Config mirrors core.Config (durations in ms). Zero values take the core's
 * defaults, as in Go.
 */
export function encodeInit(cfg = {}, seed) {
  const w = new Writer();
  w.u8(1); // the server role
  w.dur(cfg.pingInterval ?? 0).dur(cfg.pingTimeout ?? 0).dur(cfg.upgradeTimeout ?? 0).dur(cfg.closeTimeout ?? 0);
  w.i64(cfg.maxPayload ?? 0).i64(cfg.maxBufferedBytes ?? 0);
  w.u8(cfg.transports ?? 0).bool(cfg.disableUpgrades ?? false).raw(seed);
  w.dur(cfg.connectTimeout ?? 0).i64(cfg.maxAttachments ?? 0).i64(cfg.maxDepth ?? 0).i64(cfg.maxPendingAcks ?? 0);
  w.bool(cfg.dynamicNamespaces ?? false).bool(false).dur(0); // cluster off, requests_timeout
  w.dur(cfg.recoveryWindow ?? 0).i64(cfg.recoveryMaxPackets ?? 0).i64(cfg.recoveryMaxBytes ?? 0);
  w.bool(cfg.allowEIO3 ?? false).bool(cfg.recoveryStore ?? false).u8(0); // the default parser
  w.bool(false); // room_events: no RoomJoined/RoomLeft outputs
  return w.done();
}

/**
 * Machine is one core.wasm instance running the server role. Every call is
 * synchronous; outputs go to `onOutput` during drain(), which every input
 * and command runs (the host performs them; it may call back in).
 */
export class Machine {
  /**
   * @param {WebAssembly.Module} module core.wasm, compiled (Workers: imported as a module)
   * @param {object} cfg see encodeInit
   * @param {object} opts {now(): bigint ns, onOutput(out), log(text)}
   */
  constructor(module, cfg, opts) {
    this.wasi = new WASI({ write: (fd, text) => (opts.log ?? console.error)(`core.wasm: ${text}`) });
    this.instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: this.wasi.imports });
    this.x = this.instance.exports;
    this.wasi.initialize(this.instance);
    const v = this.x.sio_abi_version();
    if (v !== ABI_VERSION) throw new Error(`core.wasm speaks ABI version ${v}, this host version ${ABI_VERSION}`);
    this.now = opts.now;
    this.onOutput = opts.onOutput;
    this.size = 0;
    this.area = 0;
    this._grow(65536);
    const seed = new Uint8Array(32);
    crypto.getRandomValues(seed);
    const init = encodeInit(cfg, seed);
    this._put(init);
    const st = this.x.sio_new(this.area, init.length);
    if (st !== 0) throw new StatusError(st, K.Init);
    this.draining = false;
    this.deadline = 0n;
  }

  _grow(n) {
    if (n <= this.size) return;
    const size = Math.max(n, this.size * 2);
    const p = this.x.sio_buffer(size);
    if (p === 0) throw new Error(`core.wasm refused an exchange area of ${size} bytes`);
    this.area = p;
    this.size = size;
  }

  _mem(len) { return new Uint8Array(this.x.memory.buffer, this.area, len); }

  _put(rec) {
    this._grow(rec.length);
    this._mem(rec.length).set(rec);
  }

  /** call performs one input or command and returns its reply bytes (or null); it does not drain. */
  call(kind, rec = new Uint8Array(0)) {
    this._put(rec);
    let n = this.x.sio_handle(this.now(), kind, this.area, rec.length, this.size);
    if (n < 0n) throw new StatusError(Number(n), kind);
    if (n === 0n) return null;
    n = Number(n);
    if (n > this.size) {
      this._grow(n);
      this.x.sio_reply(this.area, this.size);
    }
    return this._mem(n).slice();
  }

  /** handle is call followed by a drain. */
  handle(kind, rec) {
    const reply = this.call(kind, rec);
    this.drain();
    return reply;
  }

  /** drain polls outputs until Wait and hands each to onOutput; re-entrant calls only queue. */
  drain() {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let i = 0; i < 10000000; i++) {
        let r = this.x.sio_poll(this.area, this.size);
        if (r < 0n) throw new StatusError(Number(r), 0);
        const kind = Number(r >> 32n);
        const len = Number(r & 0xffffffffn);
        if (len > this.size) {
          this._grow(len);
          r = this.x.sio_poll(this.area, this.size);
        }
        const out = decodeOutput(kind, this._mem(len));
        if (kind === K.Wait) {
          this.deadline = out.deadline;
          this.onOutput(out);
          return;
        }
        this.onOutput(out);
      }
      throw new Error("core.wasm: drain never reached Wait");
    } finally {
      this.draining = false;
    }
  }
}
