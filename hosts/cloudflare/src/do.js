// The Durable Object that runs core.wasm for one shard, and the Worker that
// routes /socket.io/ requests to it. See hosts/cloudflare/README.md.
//
// One object = one core.wasm instance = one shard. It holds its WebSockets
// with the Hibernation API (ctx.acceptWebSocket; each socket's attachment
// is {conn, sid}), answers polling requests (a GET stays pending until the
// core responds), and turns the core's Wait deadline into the object's
// alarm. After every event it snapshots the sessions the event touched
// (core.Server.Snapshot, wasm/ABI.md §9.5) into its storage, so when the
// runtime drops the instance (hibernation, eviction) the next event builds a
// new one that restores every session, socket, room and pending ack, and
// runs the application's connection handlers again with socket.woke set.
// With RECOVERY_MS the core's recovery store (sessions that left and the
// packets they may miss) lives in the object's SQLite storage
// (recovery.js), so connection state recovery outlives the instance too;
// the alarm is then the earlier of the core's deadline and the store's
// next sweep.
import { DurableObject } from "cloudflare:workers";
import { K, Machine, Writer, Reader } from "./core.js";
import { Server } from "./server.js";
import { RecoveryStore, RECOVERY_DEFAULTS, encodeRecoveryFound } from "./recovery.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const SNAP = "s:"; // storage key prefix: one record per session, {snap, meta}

/**
 * Defaults for this host (see README "Hibernation"): a 60 s ping interval,
 * so an idle object hibernates between heartbeats (it is evicted after
 * about 10 s without events), well under the 100 s after which Cloudflare
 * drops an idle connection; the ping timeout stays generous for mobile
 * clients.
 */
export const HOST_DEFAULTS = { pingInterval: 60000, pingTimeout: 30000 };

/** config reads the server options from the Worker's vars (all optional; ms). */
export function configFromEnv(env) {
  const num = (k) => (env[k] !== undefined && env[k] !== "" ? Number(env[k]) : undefined);
  const cfg = {
    pingInterval: num("PING_INTERVAL_MS") ?? HOST_DEFAULTS.pingInterval,
    pingTimeout: num("PING_TIMEOUT_MS") ?? HOST_DEFAULTS.pingTimeout,
    connectTimeout: num("CONNECT_TIMEOUT_MS"),
    maxPayload: num("MAX_PAYLOAD"),
  };
  const rec = num("RECOVERY_MS");
  if (rec > 0) {
    // kept in the object's storage unless RECOVERY_STORE is "0" (then in
    // the instance's memory only: lost when the object hibernates)
    cfg.recovery = { maxDisconnectionDuration: rec, skipMiddlewares: true, store: env.RECOVERY_STORE !== "0" };
    cfg.recoveryMaxPackets = num("RECOVERY_MAX_PACKETS") || RECOVERY_DEFAULTS.maxPackets;
    cfg.recoveryMaxBytes = num("RECOVERY_MAX_BYTES") || RECOVERY_DEFAULTS.maxBytes;
  }
  return cfg;
}

/**
 * socketIOObject returns the Durable Object class for an application:
 * setup(io, {env, ctx}) registers namespaces, middleware and handlers on a
 * Server (server.js) each time an instance starts (first start and every
 * wake from hibernation).
 */
export function socketIOObject(coreModule, setup) {
  return class SocketIOObject extends DurableObject {
    constructor(ctx, env) {
      super(ctx, env);
      this.instanceId = crypto.randomUUID();
      this.cfg = configFromEnv(env);
      this.requests = new Map(); // conn → {resolve, handshake, sid}
      this.sockets = new Map(); // conn → WebSocket
      this.sessions = new Map(); // sid → {query, conns: Set}
      this.dirty = new Set();
      this.written = new Map(); // sid → last stored record, as a string key
      this.nextConn = Date.now() * 1000;
      this.lastNow = 0n;
      this.alarmAt = null; // ms of the alarm set (0: none; null: unknown)
      this.coreAt = 0; // ms of the core's deadline (0: none)
      this.store = null; // RecoveryStore, with RECOVERY_MS
      this.shard = null;
      ctx.blockConcurrencyWhile(() => this._start());
    }

    _now() {
      let n = BigInt(Date.now()) * 1000000n;
      if (n <= this.lastNow) n = this.lastNow + 1n;
      this.lastNow = n;
      return n;
    }

    async _start() {
      this.shard = (await this.ctx.storage.get("shard")) ?? null;
      const rc = this.cfg.recovery;
      if (rc?.store) {
        try {
          this.store = new RecoveryStore(this.ctx.storage.sql, {
            window: rc.maxDisconnectionDuration, maxPackets: this.cfg.recoveryMaxPackets, maxBytes: this.cfg.recoveryMaxBytes,
          });
        } catch (e) {
          // a key-value-backed object has no SQL storage
          console.error(`socketcore: no recovery store (it needs a SQLite-backed Durable Object: new_sqlite_classes); ` +
            `connection state recovery is kept in memory and lost when the object hibernates: ${e.message}`);
          rc.store = false;
        }
      }
      const io = new Server({ recovery: rc });
      await setup(io, { env: this.env, ctx: this.ctx });
      this.io = io;
      this.machine = new Machine(
        coreModule,
        {
          ...this.cfg,
          dynamicNamespaces: io.dynamicNamespaces,
          recoveryWindow: rc?.maxDisconnectionDuration ?? 0,
          recoveryStore: !!rc?.store,
        },
        { now: () => this._now(), onOutput: (o) => this._output(o), log: (t) => console.error(t) },
      );
      io.attach(this.machine, {
        touch: (sid) => this.dirty.add(sid),
        touchAll: () => { for (const sid of this.sessions.keys()) this.dirty.add(sid); },
        handshake: (sid) => ({ query: this.sessions.get(sid)?.query ?? {} }),
        onError: (e) => console.error("socketcore app:", e),
      });
      // WebSockets that outlived the previous instance
      const live = new Set();
      for (const ws of this.ctx.getWebSockets()) {
        const a = ws.deserializeAttachment();
        if (!a) continue;
        this.sockets.set(a.conn, ws);
        live.add(a.conn);
        this.nextConn = Math.max(this.nextConn, a.conn + 1);
      }
      const stored = await this.ctx.storage.list({ prefix: SNAP });
      let restored = 0;
      const gone = [];
      for (const [key, rec] of stored) {
        let reply;
        try {
          reply = this.machine.call(K.Restore, new Writer().bytes(rec.snap).done());
        } catch (e) {
          console.error(`socketcore: dropping session ${key}: ${e.message}`);
          this.ctx.storage.delete(key);
          continue;
        }
        const r = new Reader(reply);
        const sid = r.str();
        const n = r.u32();
        this.sessions.set(sid, { query: rec.meta.query ?? {}, conns: new Set(rec.meta.conns ?? []) });
        this.written.set(sid, recordKey(rec));
        for (let i = 0; i < n; i++) {
          const id = r.str();
          const nsp = r.str();
          this.io.restored(id, nsp, sid, rec.meta.sockets?.[id]);
        }
        for (const c of rec.meta.conns ?? []) if (!live.has(c)) gone.push(c);
        restored++;
      }
      this.restoredSessions = restored;
      // connections of the snapshots that did not survive (a pending poll)
      for (const c of gone) this.machine.call(K.Closed, new Writer().u64(c).bool(false).done());
      this.machine.drain();
      if (this.store) {
        this.store.start(Date.now(), new Set(this.io._sockets.keys()));
        this._setAlarm();
      }
      this._persist();
    }

    _newConn() {
      return this.nextConn++;
    }

    // ---- events -----------------------------------------------------------

    async fetch(request) {
      const url = new URL(request.url);
      if (this.env.SOCKETCORE_TEST === "1" && url.pathname.endsWith("/__socketcore/instance")) {
        return Response.json({
          instance: this.instanceId, restored: this.restoredSessions, sessions: this.sessions.size,
          recovery: this.store?.stats() ?? null,
        });
      }
      if (this.env.SOCKETCORE_TEST === "1" && url.pathname.endsWith("/__socketcore/abort")) {
        this.ctx.abort("socketcore test: drop the instance");
      }
      const shard = request.headers.get("x-socketcore-shard");
      if (shard !== null && this.shard !== shard) {
        this.shard = shard;
        this.ctx.storage.put("shard", shard);
      }
      const params = url.searchParams;
      let sid = params.get("sid");
      if (sid !== null) {
        const dot = sid.indexOf(".");
        sid = dot >= 0 ? sid.slice(dot + 1) : sid;
        params.set("sid", sid);
      }
      const query = params.toString();
      const handshake = sid === null;
      const conn = this._newConn();
      try {
        if (request.headers.get("Upgrade")?.toLowerCase() === "websocket") return this._upgrade(conn, query, handshake, sid);
        return await this._poll(request, conn, query, handshake, sid, params);
      } finally {
        this._persist();
      }
    }

    _upgrade(conn, query, handshake, sid) {
      const pair = new WebSocketPair();
      const [client, server] = Object.values(pair);
      this.ctx.acceptWebSocket(server);
      server.serializeAttachment({ conn, sid });
      this.sockets.set(conn, server);
      const req = { handshake, sid, accepted: false, response: null, query: Object.fromEntries(new URLSearchParams(query)) };
      this.requests.set(conn, req);
      if (sid) this.dirty.add(sid);
      this._input(K.HTTPRequest, new Writer().u64(conn).str("GET").str(query).bool(true).bool(false).bytes(null).bool(false).done());
      this.requests.delete(conn);
      if (req.accepted) return new Response(null, { status: 101, webSocket: client });
      this.sockets.delete(conn);
      try { server.close(1011, "refused"); } catch {}
      return req.response ?? new Response(null, { status: 500 });
    }

    async _poll(request, conn, query, handshake, sid, params) {
      const body = request.method === "POST" ? new Uint8Array(await request.arrayBuffer()) : null;
      const binary = (request.headers.get("content-type") ?? "").includes("octet-stream");
      const tooLarge = body !== null && body.length > (this.cfg.maxPayload ?? 1e6);
      let resolve;
      const done = new Promise((r) => (resolve = r));
      const req = { resolve, handshake, sid, query: Object.fromEntries(params) };
      this.requests.set(conn, req);
      if (sid) {
        this.dirty.add(sid);
        this.sessions.get(sid)?.conns.add(conn);
      }
      this._input(
        K.HTTPRequest,
        new Writer().u64(conn).str(request.method).str(query).bool(false).bool(binary).bytes(tooLarge ? null : body).bool(tooLarge).done(),
      );
      return done;
    }

    async webSocketMessage(ws, message) {
      const a = ws.deserializeAttachment();
      if (!a) return;
      if (a.sid) this.dirty.add(a.sid);
      const binary = typeof message !== "string";
      const data = binary ? new Uint8Array(message) : enc.encode(message);
      this._input(K.Recv, new Writer().u64(a.conn).bytes(data).bool(binary).done());
      this._persist();
    }

    async webSocketClose(ws, code, reason) {
      this._wsGone(ws, false);
      try { ws.close(code === 1005 ? 1000 : code, reason); } catch {}
    }

    async webSocketError(ws) {
      this._wsGone(ws, true);
    }

    _wsGone(ws, error) {
      const a = ws.deserializeAttachment();
      if (!a || !this.sockets.has(a.conn)) return;
      this.sockets.delete(a.conn);
      if (a.sid) this.dirty.add(a.sid);
      this._input(K.Closed, new Writer().u64(a.conn).bool(error).done());
      this._persist();
    }

    async alarm() {
      this.alarmAt = null;
      const now = Date.now();
      if (this.store && this.store.sweepAt !== 0 && now >= this.store.sweepAt) {
        try {
          this.store.sweep(now);
        } catch (e) {
          console.error(`socketcore: recovery store: sweep failed (again in a minute): ${e.message}`);
          this.store.sweepAt = now + 60000;
        }
      }
      for (const sid of this.sessions.keys()) this.dirty.add(sid); // timers may have changed any session
      this._input(K.Timeout, new Uint8Array(0));
      this._persist();
    }

    _input(kind, rec) {
      this.machine.handle(kind, rec);
    }

    // ---- outputs ----------------------------------------------------------

    _output(o) {
      switch (o.kind) {
        case K.Respond: {
          const req = this.requests.get(o.conn);
          if (!req) return; // the request is gone (a restored poll)
          this.requests.delete(o.conn);
          if (req.sid) this.sessions.get(req.sid)?.conns.delete(o.conn);
          let body = o.body;
          if (req.handshake && o.status === 200) body = this._tagSID(body);
          const headers = { "access-control-allow-origin": "*" };
          if (o.contentType) headers["content-type"] = o.contentType;
          const res = new Response(o.status === 204 || o.status === 101 ? null : body, { status: o.status, headers });
          if (req.resolve) req.resolve(res);
          else req.response = res;
          return;
        }
        case K.AcceptWebSocket: {
          const req = this.requests.get(o.conn);
          if (req) req.accepted = true;
          return;
        }
        case K.Send: {
          const ws = this.sockets.get(o.conn);
          if (!ws) return;
          const req = this.requests.get(o.conn);
          for (let i = 0; i < o.frames.length; i++) {
            let f = o.frames[i];
            if (req?.handshake && !req.tagged && !f.binary) {
              req.tagged = true;
              f = { binary: false, data: this._tagSID(f.data) };
            }
            sendFrame(ws, f);
          }
          return;
        }
        case K.BroadcastOut: {
          const frames = o.frames.map((f) => (f.binary ? f.data : dec.decode(f.data)));
          for (const c of o.conns) {
            const ws = this.sockets.get(c);
            if (!ws) continue;
            for (const f of frames) {
              try { ws.send(f); } catch {}
            }
          }
          return;
        }
        case K.CloseConn: {
          const ws = this.sockets.get(o.conn);
          if (ws) {
            this.sockets.delete(o.conn);
            try { ws.close(1000, ""); } catch {}
            // the core forgot this connection: no Closed needed
          }
          return;
        }
        case K.Wait:
          return this._arm(o.deadline);
        case K.SessionOpened: {
          const req = this.requests.get(o.conn);
          this.sessions.set(o.sid, { query: req?.query ?? {}, conns: new Set(o.websocket ? [o.conn] : [o.conn]) });
          if (req) req.sid = o.sid;
          this.dirty.add(o.sid);
          if (o.websocket) this._attach(o.conn, o.sid);
          return;
        }
        case K.SessionUpgraded: {
          this._attach(o.conn, o.sid);
          this.sessions.get(o.sid)?.conns.add(o.conn);
          this.dirty.add(o.sid);
          return;
        }
        // a store that fails (a storage error) does not stop the protocol:
        // it is logged, as the native host does, and a lookup finds nothing
        case K.RecoveryRecord:
          if (!this.store) return;
          try {
            this.store.record(o.nsp, o.packet, Date.now());
          } catch (e) {
            console.error(`socketcore: recovery store: record of ${o.packet.offset} failed: ${e.message}`);
          }
          return;
        case K.RecoverySession: {
          if (!this.store) return;
          // the host fills socket.data (JSON); a departing socket is still known here
          const s = this.io._sockets.get(o.socket) ?? this.io._pending.get(o.socket);
          let data = o.data.length > 0 ? dec.decode(o.data) : null;
          if (s) {
            try { data = JSON.stringify(s.data ?? {}) ?? null; } catch { data = null; }
          }
          try {
            this.store.session(o, data, Date.now());
          } catch (e) {
            console.error(`socketcore: recovery store: session write (state ${o.state}) of ${o.socket} failed: ${e.message}`);
          }
          return;
        }
        case K.RecoveryLookup: {
          // the storage reads are synchronous: the answer goes in at once,
          // within this drain (the socket waits for it, nothing else)
          let f = { ref: o.ref, found: false, offsetFound: false, packets: [] };
          try {
            if (this.store) f = this.store.lookup(o, Date.now());
          } catch (e) {
            console.error(`socketcore: recovery store: lookup failed; the client gets a fresh socket: ${e.message}`);
          }
          const held = f.session && this.io._sockets.get(f.session.socket);
          if (held) {
            // its previous connection is still here (dead, not yet timed
            // out): its socket.data is newer than the stored snapshot's
            try { f.session.data = enc.encode(JSON.stringify(held.data ?? {})); } catch {}
          }
          this.machine.call(K.RecoveryFound, encodeRecoveryFound(f));
          return;
        }
        case K.SessionClosed: {
          this.sessions.delete(o.sid);
          this.dirty.delete(o.sid);
          if (this.written.delete(o.sid)) this.ctx.storage.delete(SNAP + o.sid);
          return;
        }
        default:
          return this.io.output(o);
      }
    }

    _attach(conn, sid) {
      const ws = this.sockets.get(conn);
      if (ws) ws.serializeAttachment({ conn, sid });
    }

    _tagSID(body) {
      // the shard goes in front of the sid, so every later request of the
      // session reaches this object (the Worker routes by it)
      if (this.shard === null) return body;
      const s = dec.decode(body);
      const i = s.indexOf('{"sid":"');
      if (i < 0) return body;
      const at = i + 8;
      return enc.encode(s.slice(0, at) + this.shard + "." + s.slice(at));
    }

    _arm(deadline) {
      this.coreAt = deadline === 0n ? 0 : Number((deadline + 999999n) / 1000000n);
      this._setAlarm();
    }

    // the alarm: the core's deadline or the recovery store's next sweep,
    // whichever comes first
    _setAlarm() {
      let ms = this.coreAt;
      const sweep = this.store?.sweepAt ?? 0;
      if (sweep !== 0 && (ms === 0 || sweep < ms)) ms = sweep;
      if (ms === 0) {
        if (this.alarmAt !== 0) this.ctx.storage.deleteAlarm();
        this.alarmAt = 0;
        return;
      }
      if (this.alarmAt === ms) return;
      this.alarmAt = ms;
      this.ctx.storage.setAlarm(ms);
    }

    // ---- snapshots --------------------------------------------------------

    _persist() {
      if (this.dirty.size === 0) return;
      for (const sid of this.dirty) {
        const sess = this.sessions.get(sid);
        if (!sess) continue;
        let reply;
        try {
          reply = this.machine.call(K.Snapshot, new Writer().str(sid).done());
        } catch (e) {
          if (e.status === -21) continue; // closed meanwhile
          throw e;
        }
        const snap = new Reader(reply).bytes();
        const sockets = {};
        for (const s of this.io._sockets.values()) {
          if (s.sid === sid) sockets[s.id] = { handshake: s.handshake, data: s.data, recovered: s.recovered };
        }
        const rec = { snap, meta: { query: sess.query, conns: [...sess.conns], sockets } };
        const key = recordKey(rec);
        if (this.written.get(sid) === key) continue;
        this.written.set(sid, key);
        this.ctx.storage.put(SNAP + sid, rec);
      }
      this.dirty.clear();
    }
  };
}

function recordKey(rec) {
  let s = "";
  for (const b of rec.snap) s += String.fromCharCode(b);
  return s + "\u0000" + JSON.stringify(rec.meta);
}

function sendFrame(ws, f) {
  try {
    ws.send(f.binary ? f.data : dec.decode(f.data));
  } catch {}
}

/**
 * worker returns the Worker's fetch handler: /socket.io/ requests go to the
 * object of their shard. A handshake picks a shard at random among SHARDS
 * (default 1); the object puts it in front of the sid ("<shard>.<sid>"), so
 * later polling requests and the WebSocket upgrade reach the same object.
 */
export function worker(bindingName = "SOCKETIO") {
  return {
    async fetch(request, env) {
      const url = new URL(request.url);
      const path = env.SOCKETIO_PATH ?? "/socket.io/";
      if (!url.pathname.startsWith(path)) return new Response("not found\n", { status: 404 });
      if (request.method === "OPTIONS") {
        return new Response(null, {
          status: 204,
          headers: {
            "access-control-allow-origin": "*",
            "access-control-allow-methods": "GET,POST",
            "access-control-allow-headers": request.headers.get("access-control-request-headers") ?? "content-type",
          },
        });
      }
      const shards = Math.max(1, Number(env.SHARDS ?? 1) | 0);
      const sid = url.searchParams.get("sid");
      let shard;
      if (sid !== null) {
        shard = sid.slice(0, Math.max(0, sid.indexOf(".")));
        if (!/^[0-9]+$/.test(shard) || Number(shard) >= shards) {
          return Response.json({ code: 1, message: "Session ID unknown" }, { status: 400, headers: { "access-control-allow-origin": "*" } });
        }
      } else {
        shard = String(Math.floor(Math.random() * shards));
      }
      const ns = env[bindingName];
      const stub = ns.get(ns.idFromName("shard-" + shard));
      const headers = new Headers(request.headers);
      headers.set("x-socketcore-shard", shard);
      return stub.fetch(new Request(request, { headers }));
    },
  };
}
