// The driver of the official-client cluster test (official_test.go): it
// connects socket.io-client 4.8.4 clients to every server of a cluster
// running server.mjs's application (Node servers, or Go servers running its
// Go copy), asks every server for every cluster operation through a control
// socket ("/ctl" "op"), and checks exactly what every client received. Then
// it emits to the cluster with @socket.io/redis-emitter 5.1.0.
//
// Env:
//   SIO_NODES  [{"name":"go1","url":"http://127.0.0.1:P","kind":"go"}, ...]
//   SIO_KEY    the adapters' key (channel prefix)
//   REDIS_URL  default redis://127.0.0.1:6379
//
// Every server gets two peers, "<server>.a" (in room "A") and "<server>.b"
// (in room "B"); a peer is a socket on "/" plus a socket on "/side" over the
// same connection (so that a disconnection that closes the connection shows).
//
// Each step runs an operation, then has the same server (or the emitter)
// broadcast a marker to every peer; Redis keeps the order of one publisher,
// so every peer has had what the step sent it once the marker is there. The
// step waits (at most WAIT) for the marker and for the events expected on
// each peer, then requires that each peer got exactly those events.
//
// Exit status 0 when every check passed; otherwise 1, with what differs.
// A known difference between Go and Node servers that the test tolerates is
// printed as a "DIFFERS: ..." line (see differs).

import { io as ioc } from "socket.io-client";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";

const WAIT = 5000;
const SERVERS = JSON.parse(process.env.SIO_NODES || "[]");
const KEY = process.env.SIO_KEY;
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
if (SERVERS.length < 3 || !KEY) throw new Error("SIO_NODES (3 servers or more) and SIO_KEY must be set");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- values ------------------------------------------------------------------

// plain is a value as a client received it, binary as {$bin: hex} and an
// acknowledgement callback as "<ack>".
function plain(v) {
  if (typeof v === "function") return "<ack>";
  if (Buffer.isBuffer(v)) return { $bin: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}

// canon is JSON with sorted keys (a Go server writes map keys sorted).
function canon(v) {
  if (Array.isArray(v)) return "[" + v.map(canon).join(",") + "]";
  if (v && typeof v === "object") {
    return "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + canon(v[k])).join(",") + "}";
  }
  return JSON.stringify(v) ?? "undefined";
}

const same = (a, b) => canon(plain(a)) === canon(plain(b));

// asJSON is a Buffer as JSON.stringify writes it: what serverSideEmit
// (JSON through Redis) makes of binary.
const asJSON = (buf) => ({ type: "Buffer", data: [...buf] });

// ev is an expected event.
const ev = (name, ...args) => ({ ev: name, args: plain(args) });
const optional = (e) => ({ ...e, optional: true });

class Failure extends Error {}

// differs records a known difference between the Go server and Node's
// (printed at the end, "DIFFERS: ..."), which the test lets pass.
const differences = new Set();
const differs = (msg) => differences.add(msg);
function check(ok, msg) {
  if (!ok) throw new Failure(msg);
}

// ---- peers -------------------------------------------------------------------

const opts = { forceNew: true, transports: ["websocket"], reconnection: false, timeout: WAIT };

function waitConnect(socket, what) {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${what}: not connected within ${WAIT} ms`)), WAIT);
    const onConnect = () => done();
    const onError = (err) => done(new Error(`${what}: connect_error ${err.message}`));
    function done(err) {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
      err ? reject(err) : resolve();
    }
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
  });
}

class Peer {
  constructor(server, name, rooms) {
    this.server = server;
    this.label = `${server.name}.${name}`;
    this.rooms = rooms;
    this.log = [];
    this.wake = null;
  }

  async connect() {
    const { label, rooms } = this;
    this.main = ioc(this.server.url, { ...opts, auth: { label, rooms }, query: { label } });
    this.side = this.main.io.socket("/side");
    this.main.onAny((event, ...args) => this.push({ ev: event, args: plain(args) }));
    this.main.on("quiz", (q, b, cb) => cb({ label, q, echo: b }));
    this.main.on("disconnect", (reason) => this.push({ ev: "disconnect", args: [reason] }));
    this.side.on("disconnect", (reason) => this.push({ ev: "side-disconnect", args: [reason] }));
    await Promise.all([waitConnect(this.main, label), waitConnect(this.side, label + " /side")]);
    this.engine = this.main.io.engine.id;
  }

  get id() {
    return this.main.id;
  }

  push(e) {
    this.log.push(e);
    this.wake?.();
  }

  // until waits until cond(log) holds.
  async until(cond, what) {
    const end = Date.now() + WAIT;
    while (!cond(this.log)) {
      const left = end - Date.now();
      check(left > 0, `${this.label}: no ${what} within ${WAIT} ms; got ${describeLog(this.log)}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  // reconnect connects the sockets a server disconnected again: over the
  // same connection if it stayed open (sameEngine), else over a new one.
  async reconnect(sameEngine) {
    const before = this.engine;
    if (!this.main.connected) this.main.connect();
    if (!this.side.connected) this.side.connect();
    await Promise.all([waitConnect(this.main, this.label), waitConnect(this.side, this.label + " /side")]);
    this.engine = this.main.io.engine.id;
    check(
      (this.engine === before) === sameEngine,
      `${this.label}: reconnected on engine ${this.engine}, before ${before}: ` +
        (sameEngine ? "the connection should have stayed open" : "the connection should have been closed"),
    );
  }

  close() {
    this.side?.close();
    this.main?.close();
  }
}

function describeLog(log) {
  return log.length ? log.map((e) => `${e.ev} ${canon(e.args)}`).join(" | ") : "nothing";
}

// ---- the cluster -------------------------------------------------------------

const peers = [];
const peerOf = {};
const ctl = {};
let emitterClient;

async function setup() {
  for (const s of SERVERS) {
    peerOf[s.name] = { a: new Peer(s, "a", ["A"]), b: new Peer(s, "b", ["B"]) };
    peers.push(peerOf[s.name].a, peerOf[s.name].b);
    ctl[s.name] = ioc(s.url + "/ctl", opts);
  }
  await Promise.all([
    ...peers.map((p) => p.connect()),
    ...SERVERS.map((s) => waitConnect(ctl[s.name], s.name + " /ctl")),
  ]);
  emitterClient = createClient({ url: REDIS_URL });
  emitterClient.on("error", (err) => console.log(`emitter's redis: ${err}`));
  await emitterClient.connect();
}

async function teardown() {
  for (const p of peers) p.close();
  for (const c of Object.values(ctl)) c.close();
  if (emitterClient?.isOpen) await emitterClient.quit();
}

// op asks server s for an operation and returns its result.
async function op(s, spec, ...args) {
  let res;
  try {
    res = await ctl[s.name].timeout(WAIT).emitWithAck("op", spec, ...args);
  } catch (e) {
    throw new Failure(`${canon(spec)} asked on ${s.name}: ${e.message}`);
  }
  check(!(res && typeof res === "object" && !Array.isArray(res) && res.error), `${canon(spec)} asked on ${s.name} failed: ${res?.error}`);
  return res;
}

// eventually retries f (which returns [ok, saw]) until ok, for at most WAIT.
async function eventually(what, f) {
  const end = Date.now() + WAIT;
  for (;;) {
    const [ok, saw] = await f();
    if (ok) return;
    check(Date.now() < end, `timed out waiting for ${what}; last saw ${saw}`);
    await sleep(20);
  }
}

let markers = 0;
let steps = 0;

// step runs fn, has mark(n) broadcast marker n to every peer, and checks
// that each peer got exactly expect[label] (events; optional ones at most
// once) before the marker.
async function step(name, mark, fn, expect = {}) {
  try {
    await fn();
  } catch (e) {
    throw e instanceof Failure ? new Failure(`${name}: ${e.message}`) : e;
  }
  const n = ++markers;
  await mark(n);
  for (const p of peers) {
    const want = expect[p.label] || [];
    const required = want.filter((e) => !e.optional).map((e) => canon({ ev: e.ev, args: e.args }));
    const isMark = (e) => e.ev === "mark" && e.args[0] === n;
    await p.until((log) => {
      if (!log.some(isMark)) return false;
      const got = log.map((e) => canon(e));
      return required.every((w) => got.includes(w));
    }, `marker ${n} and the events of "${name}" (want ${describeLog(want)})`);
    const got = p.log.filter((e) => !isMark(e));
    p.log = [];
    const rest = got.map((e) => canon(e));
    const missing = [];
    for (const w of want) {
      const c = canon({ ev: w.ev, args: w.args });
      const i = rest.indexOf(c);
      if (i >= 0) rest.splice(i, 1);
      else if (!w.optional) missing.push(c);
    }
    check(
      missing.length === 0 && rest.length === 0,
      `${name}: ${p.label} got ${describeLog(got)}\n\twant ${describeLog(want)}` +
        (rest.length ? `\n\tunexpected ${rest.join(" | ")}` : "") +
        (missing.length ? `\n\tmissing ${missing.join(" | ")}` : ""),
    );
  }
  steps++;
}

// to is an expectation: every peer of ps gets the events.
function to(ps, ...events) {
  const out = {};
  for (const p of ps) out[p.label] = events;
  return out;
}

function merge(...exps) {
  const out = {};
  for (const e of exps) for (const [k, v] of Object.entries(e)) out[k] = [...(out[k] || []), ...v];
  return out;
}

const sortBy = (k) => (a, b) => (a[k] < b[k] ? -1 : a[k] > b[k] ? 1 : 0);

// checkSockets checks sockets as "fetch" describes them against the peers.
function checkSockets(what, got, ps) {
  const want = [...ps].sort(sortBy("id"));
  check(
    Array.isArray(got) && same(got.map((s) => s.id), want.map((p) => p.id)),
    `${what}: ids ${canon(got?.map?.((s) => s.id))}, want ${canon(want.map((p) => p.id))} (${want.map((p) => p.label)})`,
  );
  for (const [i, s] of got.entries()) {
    const p = want[i];
    const at = `${what}: socket ${p.label} (${s.id})`;
    check(same(s.rooms, [p.id, ...p.rooms].sort()), `${at}: rooms ${canon(s.rooms)}, want ${canon([p.id, ...p.rooms].sort())}`);
    check(same(s.data, { server: p.server.name, label: p.label }), `${at}: data ${canon(s.data)}`);
    const h = s.handshake || {};
    check(same(h.auth, { label: p.label, rooms: p.rooms }), `${at}: handshake.auth ${canon(h.auth)}`);
    check(
      h.query?.label === p.label && h.query?.EIO === "4" && h.query?.transport === "websocket",
      `${at}: handshake.query ${canon(h.query)}`,
    );
    check(typeof h.issued === "number" && Math.abs(Date.now() - h.issued) < 60_000, `${at}: handshake.issued ${h.issued}`);
    check(/^(::ffff:)?127\.0\.0\.1$/.test(h.address), `${at}: handshake.address ${canon(h.address)}`);
    check(typeof h.url === "string" && h.url.startsWith("/socket.io/?") && h.url.includes(`label=${p.label}`), `${at}: handshake.url ${canon(h.url)}`);
    check(h.secure === false, `${at}: handshake.secure ${canon(h.secure)}`);
    check(h.headers?.["sec-websocket-version"] === "13", `${at}: handshake.headers ${canon(h.headers)}`);
    const host = new URL(p.server.url).host;
    check(h.headers?.host === host, `${at}: handshake.headers.host ${canon(h.headers?.host)}, want ${host}`);
  }
}

// ---- the operations, asked on every server ---------------------------------------

// fromServer asks server O (the i-th) for every operation. Operations that
// target sockets target one on every other server (Go and Node alike), and
// sometimes one of O's own.
async function fromServer(O, i) {
  const X = SERVERS[(i + 1) % SERVERS.length];
  const Y = SERVERS[(i + 2) % SERVERS.length];
  const [Oa, Ob] = [peerOf[O.name].a, peerOf[O.name].b];
  const Xa = peerOf[X.name].a;
  const othersA = SERVERS.filter((s) => s !== O).map((s) => peerOf[s.name].a); // one a-peer per other server
  const othersB = SERVERS.filter((s) => s !== O).map((s) => peerOf[s.name].b);
  const ids = (ps) => ps.map((p) => p.id);
  const sortedIDs = (ps) => ids(ps).sort();
  const A = peers.filter((p) => p.rooms.includes("A"));
  const B = peers.filter((p) => p.rooms.includes("B"));
  const onO = [Oa, Ob];
  const at = `(asked on ${O.name})`;
  const mark = (n) => op(O, { op: "emit", event: "mark" }, n);
  const bin = Buffer.from([0, i, 0xff, 0x80, 0x7b]);
  const disconnected = (both) => (log) =>
    log.some((e) => e.ev === "disconnect") && (!both || log.some((e) => e.ev === "side-disconnect"));

  // Broadcasts.
  await step(`emit to all, binary ${at}`, mark,
    () => op(O, { op: "emit", event: "news" }, O.name, bin, { nested: bin, list: [1, bin, "x"] }),
    to(peers, ev("news", O.name, bin, { nested: bin, list: [1, bin, "x"] })));
  await step(`to room A ${at}`, mark,
    () => op(O, { op: "emit", event: "to-a", rooms: ["A"] }, O.name),
    to(A, ev("to-a", O.name)));
  await step(`to A and B except ${Xa.label}, except room A ${at}`, mark,
    async () => {
      await op(O, { op: "emit", event: "ab-but", rooms: ["A", "B"], except: [Xa.id] }, 1);
      await op(O, { op: "emit", event: "not-a", except: ["A"] }, 2);
    },
    merge(to(peers.filter((p) => p !== Xa), ev("ab-but", 1)), to(B, ev("not-a", 2))));
  await step(`to socket ids ${at}`, mark,
    () => op(O, { op: "emit", event: "to-id", rooms: ids([...othersB, Oa]) }, "id"),
    to([...othersB, Oa], ev("to-id", "id")));
  await step(`volatile, compress(false) ${at}`, mark,
    async () => {
      await op(O, { op: "emit", event: "vol", rooms: ["B"], volatile: true, compress: false }, "v");
      await op(O, { op: "emit", event: "nocomp", rooms: ["A"], compress: false }, bin);
    },
    merge(to(B, optional(ev("vol", "v"))), to(A, ev("nocomp", bin))));
  await step(`local ${at}`, mark,
    async () => {
      await op(O, { op: "emit", event: "local", local: true }, O.name);
      await op(O, { op: "emit", event: "local-a", local: true, rooms: ["A"] }, O.name);
    },
    merge(to(onO, ev("local", O.name)), to([Oa], ev("local-a", O.name))));

  // socketsJoin / socketsLeave of other servers' sockets. Not O's own: Node's
  // adapter applies them to its own sockets only when its request comes back
  // from Redis, after O's broadcasts to its own sockets (see M below).
  await step(`socketsJoin/socketsLeave ${at}`, mark,
    async () => {
      await op(O, { op: "socketsJoin", rooms: ids(othersA), room: "J" });
      await op(O, { op: "emit", event: "in-j", rooms: ["J"] }, 1);
      await op(O, { op: "socketsLeave", rooms: ["J"], room: "J" });
      await op(O, { op: "emit", event: "in-j", rooms: ["J"] }, 2);
      await op(O, { op: "socketsJoin", rooms: ["B"], except: [Ob.id, othersB[0].id], room: "K" });
      await op(O, { op: "emit", event: "in-k", rooms: ["K"] }, 1);
      await op(O, { op: "socketsLeave", room: "K" });
      await op(O, { op: "emit", event: "in-k", rooms: ["K"] }, 2);
      await op(O, { op: "socketsJoin", local: true, room: "L" });
      await op(O, { op: "emit", event: "in-l", rooms: ["L"] }, 1);
      await op(O, { op: "socketsLeave", local: true, room: "L" });
      await op(O, { op: "emit", event: "in-l", rooms: ["L"] }, 2);
    },
    merge(to(othersA, ev("in-j", 1)), to(othersB.slice(1), ev("in-k", 1)), to(onO, ev("in-l", 1))));
  // ... as the other servers see them.
  await op(O, { op: "socketsJoin", rooms: ids(othersA), room: "J" });
  for (const s of [X, Y]) {
    await eventually(`${s.name} to fetch the sockets ${O.name} made join J`, async () => {
      const got = await op(s, { op: "fetch", rooms: ["J"] });
      return [same(got.map((s) => s.id), sortedIDs(othersA)), canon(got.map((s) => [s.id, s.rooms]))];
    });
  }
  await op(O, { op: "socketsLeave", room: "J" });
  await eventually(`${Y.name} to fetch no socket in J ${at}`, async () => {
    const got = await op(Y, { op: "fetch", rooms: ["J"] });
    return [got.length === 0, canon(got.map((s) => [s.id, s.rooms]))];
  });
  // ... and O's own sockets, through the cluster.
  await op(O, { op: "socketsJoin", rooms: ids([Oa, ...othersB]), room: "M" });
  await eventually(`${O.name} to fetch the sockets it made join M`, async () => {
    const got = await op(O, { op: "fetch", rooms: ["M"] });
    return [same(got.map((s) => s.id), sortedIDs([Oa, ...othersB])), canon(got.map((s) => [s.id, s.rooms]))];
  });
  await step(`to the room M of a socketsJoin ${at}`, mark,
    () => op(O, { op: "emit", event: "in-m", rooms: ["M"] }, 1),
    to([Oa, ...othersB], ev("in-m", 1)));
  await op(O, { op: "socketsLeave", rooms: ["M"], room: "M" });
  await eventually(`${O.name} to fetch no socket in M`, async () => {
    const got = await op(O, { op: "fetch", rooms: ["M"] });
    return [got.length === 0, canon(got.map((s) => [s.id, s.rooms]))];
  });

  // fetchSockets.
  checkSockets(`fetchSockets ${at}`, await op(O, { op: "fetch" }), peers);
  checkSockets(`fetchSockets of A ${at}`, await op(O, { op: "fetch", rooms: ["A"] }), A);
  checkSockets(`fetchSockets except A ${at}`, await op(O, { op: "fetch", except: ["A"] }), B);
  checkSockets(`fetchSockets of ids ${at}`, await op(O, { op: "fetch", rooms: ids(othersB) }), othersB);
  checkSockets(`local fetchSockets ${at}`, await op(O, { op: "fetch", local: true }), onO);

  // RemoteSocket: emit, join, leave, disconnect.
  await step(`RemoteSocket emit/join/leave ${at}`, mark,
    async () => {
      const got = await op(O, { op: "remote", rooms: ids([...othersB, Oa]), action: "emit", event: "direct" }, O.name, bin);
      check(same(got, sortedIDs([...othersB, Oa])), `RemoteSocket emit ${at}: fetched ${canon(got)}`);
      await op(O, { op: "remote", rooms: ids(othersB), action: "join", room: "R" });
      await op(O, { op: "emit", event: "in-r", rooms: ["R"] }, 1);
      await op(O, { op: "remote", rooms: ids(othersB), action: "leave", room: "R" });
      await op(O, { op: "emit", event: "in-r", rooms: ["R"] }, 2);
    },
    merge(to([...othersB, Oa], ev("direct", O.name, bin)), to(othersB, ev("in-r", 1))));
  await step(`RemoteSocket disconnect(false) ${at}`, mark,
    async () => {
      const want = sortedIDs(othersB); // before the sockets, disconnected, forget them
      const got = await op(O, { op: "remote", rooms: want, action: "disconnect", close: false });
      check(same(got, want), `RemoteSocket disconnect ${at}: fetched ${canon(got)}, want ${canon(want)}`);
      for (const p of othersB) await p.until(disconnected(false), "disconnect");
      for (const p of othersB) await p.reconnect(true);
    },
    to(othersB, ev("disconnect", "io server disconnect")));
  await step(`RemoteSocket disconnect(true) ${at}`, mark,
    async () => {
      const want = sortedIDs(othersA); // before the sockets, disconnected, forget them
      const got = await op(O, { op: "remote", rooms: want, action: "disconnect", close: true });
      check(same(got, want), `RemoteSocket disconnect ${at}: fetched ${canon(got)}, want ${canon(want)}`);
      for (const p of othersA) await p.until(disconnected(true), "disconnect of both sockets");
      for (const p of othersA) await p.reconnect(false);
    },
    to(othersA, ev("disconnect", "io server disconnect"), ev("side-disconnect", "io server disconnect")));

  // disconnectSockets.
  await step(`disconnectSockets(false) ${at}`, mark,
    async () => {
      await op(O, { op: "disconnectSockets", rooms: ids(othersB), close: false });
      await op(O, { op: "disconnectSockets", rooms: ["B"], local: true, close: false });
      for (const p of [...othersB, Ob]) await p.until(disconnected(false), "disconnect");
      for (const p of [...othersB, Ob]) await p.reconnect(true);
    },
    to([...othersB, Ob], ev("disconnect", "io server disconnect")));
  await step(`disconnectSockets(true) ${at}`, mark,
    async () => {
      await op(O, { op: "disconnectSockets", rooms: ids(othersA), close: true });
      for (const p of othersA) await p.until(disconnected(true), "disconnect of both sockets");
      for (const p of othersA) await p.reconnect(false);
    },
    to(othersA, ev("disconnect", "io server disconnect"), ev("side-disconnect", "io server disconnect")));

  // serverSideEmit, without and with ack (JSON through Redis: binary
  // arrives as {type: "Buffer", data}, as between Node servers).
  await step(`serverSideEmit ${at}`, mark,
    () => op(O, { op: "sse", event: "note" }, O.name, { text: "n", bin }),
    Object.fromEntries(peers.filter((p) => p.server !== O).map((p) =>
      [p.label, [ev("noted", { by: p.server.name, from: O.name, payload: { text: "n", bin: asJSON(bin) } })]])));
  {
    const got = await op(O, { op: "sseAck", event: "whoami" }, { q: O.name, bin });
    const want = SERVERS.filter((s) => s !== O).map((s) => ({ name: s.name, got: { q: O.name, bin: asJSON(bin) } })).sort(sortBy("name"));
    check(Array.isArray(got) && same([...got].sort(sortBy("name")), want), `serverSideEmitWithAck ${at}: got ${canon(got)}\n\twant ${canon(want)}`);
  }

  // Broadcasts with acknowledgements, binary both ways.
  {
    let got;
    await step(`timeout().emitWithAck to all ${at}`, mark,
      async () => {
        got = await op(O, { op: "poll", event: "quiz", timeout: 2000 }, "q-" + O.name, bin);
      },
      to(peers, ev("quiz", "q-" + O.name, bin, "<ack>")));
    const want = peers.map((p) => ({ label: p.label, q: "q-" + O.name, echo: bin })).sort(sortBy("label"));
    check(Array.isArray(got) && same([...got].sort(sortBy("label")), want), `emitWithAck ${at}: got ${canon(plain(got))}\n\twant ${canon(plain(want))}`);
    await step(`timeout().emitWithAck to A ${at}`, mark,
      async () => {
        got = await op(O, { op: "poll", event: "quiz", rooms: ["A"], timeout: 2000 }, "qa", bin);
      },
      to(A, ev("quiz", "qa", bin, "<ack>")));
    const wantA = A.map((p) => ({ label: p.label, q: "qa", echo: bin })).sort(sortBy("label"));
    check(Array.isArray(got) && same([...got].sort(sortBy("label")), wantA), `emitWithAck to A ${at}: got ${canon(plain(got))}\n\twant ${canon(plain(wantA))}`);
  }

  // allRooms and serverCount.
  const rooms = [...peers.map((p) => p.id), "A", "B"].sort();
  await eventually(`allRooms ${at} to be ${canon(rooms)}`, async () => {
    const got = await op(O, { op: "allRooms" });
    return [same(got, rooms), canon(got)];
  });
  const count = await op(O, { op: "serverCount" });
  check(count === SERVERS.length, `serverCount ${at}: ${canon(count)}, want ${SERVERS.length}`);
  console.log(`ok: every operation asked on ${O.name} (${O.kind})`);
}

// ---- the Node emitter -----------------------------------------------------------

async function fromEmitter() {
  const em = new Emitter(emitterClient, { key: KEY });
  const at = "(@socket.io/redis-emitter)";
  const mark = async (n) => em.emit("mark", n);
  const A = peers.filter((p) => p.rooms.includes("A"));
  const B = peers.filter((p) => p.rooms.includes("B"));
  const goServers = SERVERS.filter((s) => s.kind === "go");
  const [g1, g2] = [peerOf[goServers[0].name].a, peerOf[goServers[1].name].b];
  const bin = Buffer.from([0xff, 0, 0x7b, 1]);

  await step(`emit to all, binary ${at}`, mark,
    () => em.emit("e-news", "em", bin, { nested: bin }),
    to(peers, ev("e-news", "em", bin, { nested: bin })));
  await step(`to A, except A, to ids, flags ${at}`, mark,
    () => {
      em.to("A").emit("e-a", 1);
      em.except("A").emit("e-not-a", 2);
      em.to([g1.id, g2.id]).emit("e-ids", 3);
      em.to("B").except(g2.id).compress(false).emit("e-b", bin);
      em.volatile.emit("e-vol", 4);
    },
    merge(to(A, ev("e-a", 1)), to(B, ev("e-not-a", 2)), to([g1, g2], ev("e-ids", 3)),
      to(B.filter((p) => p !== g2), ev("e-b", bin)), to(peers, optional(ev("e-vol", 4)))));
  await step(`socketsJoin/socketsLeave ${at}`, mark,
    () => {
      em.in([g1.id, g2.id]).socketsJoin("EJ");
      em.to("EJ").emit("e-j", 1);
      em.in("EJ").socketsLeave("EJ");
      em.to("EJ").emit("e-j", 2);
    },
    to([g1, g2], ev("e-j", 1)));
  await step(`disconnectSockets ${at}`, mark,
    async () => {
      em.in(g1.id).disconnectSockets();
      em.in(g2.id).disconnectSockets(true);
      await g1.until((log) => log.some((e) => e.ev === "disconnect"), "disconnect");
      await g2.until((log) => log.some((e) => e.ev === "disconnect") && log.some((e) => e.ev === "side-disconnect"), "disconnect of both sockets");
      await g1.reconnect(true);
      await g2.reconnect(false);
    },
    merge(to([g1], ev("disconnect", "io server disconnect")),
      to([g2], ev("disconnect", "io server disconnect"), ev("side-disconnect", "io server disconnect"))));
  await step(`serverSideEmit ${at}`, mark,
    () => em.serverSideEmit("note", "emitter", { text: "e", bin }),
    Object.fromEntries(peers.map((p) => [p.label, [ev("noted", { by: p.server.name, from: "emitter", payload: { text: "e", bin: asJSON(bin) } })]])));
  console.log("ok: every operation of @socket.io/redis-emitter");
}

// ---- main ------------------------------------------------------------------------

const started = Date.now();
let status = 0;
try {
  await setup();
  console.log(`connected ${peers.length} peers to ${SERVERS.map((s) => `${s.name} (${s.kind})`).join(", ")}`);
  for (const [i, s] of SERVERS.entries()) await fromServer(s, i);
  await fromEmitter();
  console.log(`PASS: ${steps} steps in ${Date.now() - started} ms`);
} catch (e) {
  status = 1;
  console.log(`FAIL: ${e instanceof Failure ? e.message : e.stack}`);
} finally {
  for (const d of differences) console.log(`DIFFERS: ${d}`);
  await teardown();
}
process.exit(status);
