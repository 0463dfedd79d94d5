// The records of core.wasm's client role (wasm/ABI.md §8, §9.4) that the
// SDK sends and receives: fixed-width little-endian integers, u8 booleans,
// u32-length-prefixed bytes/strings/lists. Its golden vectors are
// wasm/abi/testdata/records.json (test/abi.test.mjs checks them).

const te = new TextEncoder();
const td = new TextDecoder();

export const K = {
  Recv: 0x0102, Closed: 0x0103, Timeout: 0x0104, Ack: 0x0205,
  HTTPResponse: 0x0110, Dialed: 0x0111,
  Config: 0x0301, Open: 0x0302, Close: 0x0303, AddSocket: 0x0304, Connect: 0x0305,
  Disconnect: 0x0306, SetAuth: 0x0307, Emit: 0x0308, CancelAck: 0x0309, CloseEngine: 0x030b,
  Send: 0x1003, CloseConn: 0x1005, Wait: 0x1006, Fetch: 0x1010, Dial: 0x1011,
  Connected: 0x1202, Event: 0x1203, AckResolved: 0x1204,
  EngineOpened: 0x1301, EngineUpgraded: 0x1302, EngineError: 0x1303, EngineClosed: 0x1304,
  ReconnectAttempt: 0x1305, Reconnected: 0x1306, ReconnectError: 0x1307, ReconnectFailed: 0x1308,
  AuthRequested: 0x1401, ConnectError: 0x1402, SocketDisconnected: 0x1403,
};

/** Encoder of one record. */
export class W {
  constructor() {
    this.b = new Uint8Array(256);
    this.n = 0;
  }
  _room(k) {
    if (this.n + k > this.b.length) {
      const nb = new Uint8Array(Math.max(this.b.length * 2, this.n + k));
      nb.set(this.b.subarray(0, this.n));
      this.b = nb;
    }
  }
  u8(v) {
    this._room(1);
    this.b[this.n++] = v;
    return this;
  }
  bool(v) {
    return this.u8(v ? 1 : 0);
  }
  u32(v) {
    this._room(4);
    new DataView(this.b.buffer).setUint32(this.n, v, true);
    this.n += 4;
    return this;
  }
  i64(v) {
    this._room(8);
    new DataView(this.b.buffer).setBigInt64(this.n, BigInt(Math.trunc(v)), true);
    this.n += 8;
    return this;
  }
  f64(v) {
    this._room(8);
    new DataView(this.b.buffer).setFloat64(this.n, v, true);
    this.n += 8;
    return this;
  }
  raw(p) {
    this._room(p.length);
    this.b.set(p, this.n);
    this.n += p.length;
    return this;
  }
  bytes(p) {
    p = p ? toU8(p) : new Uint8Array(0);
    return this.u32(p.length).raw(p);
  }
  str(s) {
    return this.bytes(te.encode(s || ""));
  }
  list(l, f) {
    l = l || [];
    this.u32(l.length);
    for (const x of l) f.call(this, x);
    return this;
  }
  done() {
    return this.b.subarray(0, this.n);
  }
}

/** Decoder of one record (throws on a short record). */
export class R {
  constructor(b) {
    this.b = b;
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.o = 0;
  }
  _need(k) {
    if (this.o + k > this.b.length) throw new Error("core.wasm: short record");
  }
  u8() {
    this._need(1);
    return this.b[this.o++];
  }
  bool() {
    return this.u8() === 1;
  }
  u32() {
    this._need(4);
    const x = this.v.getUint32(this.o, true);
    this.o += 4;
    return x;
  }
  i64() {
    this._need(8);
    const x = Number(this.v.getBigInt64(this.o, true));
    this.o += 8;
    return x;
  }
  bytes() {
    const n = this.u32();
    this._need(n);
    const p = this.b.slice(this.o, this.o + n);
    this.o += n;
    return p;
  }
  str() {
    return td.decode(this.bytes());
  }
  list(f) {
    const n = this.u32();
    const l = [];
    for (let i = 0; i < n; i++) l.push(f.call(this));
    return l;
  }
}

export function toU8(p) {
  if (p instanceof Uint8Array) return p;
  if (p instanceof ArrayBuffer) return new Uint8Array(p);
  if (ArrayBuffer.isView(p)) return new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
  return te.encode(String(p));
}

export const utf8 = (s) => te.encode(s);
export const text = (b) => td.decode(b);

/** Init{role: 3} with a zero Config: the client role (152 bytes of Config). */
export function init() {
  const b = new Uint8Array(153);
  b[0] = 3;
  return b;
}

/** ClientConfig (client.Config). */
export function config(c) {
  return new W()
    .bool(c.secure).str(c.host).str(c.path).str(c.query).list(c.transports, W.prototype.str)
    .bool(c.noUpgrade).bool(c.rememberUpgrade).bool(c.tryAllTransports).bool(c.noTimestamp).bool(c.noReconnection)
    .i64(c.attempts).i64(c.delay * 1e6).i64(c.delayMax * 1e6).f64(c.jitter).i64(c.timeout * 1e6)
    .i64(0).i64(0).i64(0).u8(0).raw(c.seed)
    .done();
}

/** Decodes the output of kind k into a plain object {k, ...fields}. */
export function output(k, b) {
  const r = new R(b);
  const o = { k };
  switch (k) {
    case K.Fetch:
      o.conn = r.i64(); o.method = r.str(); o.url = r.str(); o.type = r.str(); o.body = r.bytes();
      break;
    case K.Dial:
      o.conn = r.i64(); o.url = r.str();
      break;
    case K.Send:
      o.conn = r.i64(); o.frames = r.list(function () { return { bin: this.bool(), data: this.bytes() }; });
      o.volatile = r.bool(); o.compress = r.bool();
      break;
    case K.CloseConn:
      o.conn = r.i64();
      break;
    case K.Wait:
      o.deadline = r.i64();
      break;
    case K.Connected:
      o.socket = r.str(); o.sid = r.str(); o.nsp = r.str(); o.recovered = r.bool(); r.bytes();
      break;
    case K.Event:
      o.socket = r.str(); o.name = r.str(); o.data = r.str(); o.atts = r.list(r.bytes); o.ack = r.i64();
      break;
    case K.AckResolved:
      o.ref = r.i64(); o.socket = r.str(); o.args = r.str(); o.atts = r.list(r.bytes); o.err = r.u8();
      break;
    case K.EngineOpened:
    case K.EngineUpgraded:
      o.sid = r.str(); o.transport = r.str();
      break;
    case K.EngineError:
    case K.EngineClosed:
      o.message = r.str(); o.description = r.str();
      break;
    case K.ReconnectAttempt:
    case K.Reconnected:
      o.attempt = r.i64();
      break;
    case K.ReconnectError:
      o.message = r.str();
      break;
    case K.AuthRequested:
      o.nsp = r.str();
      break;
    case K.ConnectError:
      o.nsp = r.str(); o.message = r.str(); o.data = r.str(); o.server = r.bool();
      break;
    case K.SocketDisconnected:
      o.nsp = r.str(); o.socket = r.str(); o.reason = r.str(); o.description = r.str();
      break;
  }
  return o;
}
