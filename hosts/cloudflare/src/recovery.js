// Connection state recovery that outlives the Durable Object's instance:
// the core's recovery store (Config.recovery_store, core/recovery_cluster.go,
// wasm/ABI.md "Recovery through a store") kept in the object's SQLite
// storage (ctx.storage.sql, synchronous), so a client that comes back after
// the object hibernated or was evicted still gets its socket, rooms, data
// and the events it missed. See README "Connection state recovery".
//
// Two tables (one object = one shard = one store; every instance of the
// object is one "server" of it, one at a time):
//
//   recovery_log      one row per packet the core originated (RecoveryRecord:
//                     socket emits and broadcasts without ack, not volatile),
//                     in order (seq); trimmed by the window (at), by count
//                     (maxPackets) and by bytes (maxBytes; cum is the running
//                     byte total before the row, so the log's size is two
//                     reads away)
//   recovery_session  one row per pid: a connected socket's snapshot
//                     (saved = 0, written at its connection and when its
//                     rooms change) or a saved session (saved = 1, a
//                     recoverable departure, until expires)
//
// The writes follow the Redis store's state machine (adapter/redis/
// recovery.go): a lookup consumes the row; a departure is saved only if
// the connected snapshot is still there (a lookup did not take it); a
// deliberate one removes it. Node ids (a pid's and an offset's first six
// characters) differ between instances of the object, and all of them are
// this store's: a session is "another server's" only for the core's choice
// between its memory and the log (see lookup).

import { Writer, Reader } from "./core.js";

export const STATE = { none: 0, live: 1, resumed: 2, saved: 3, gone: 4, unused: 5 };

/** The host's defaults for the bounds of what is kept (memory and storage alike). */
export const RECOVERY_DEFAULTS = { maxPackets: 10000, maxBytes: 16 << 20 };

// A row holds at most 2 MB (SQLite in Durable Objects); a packet larger
// than this (data + attachments + rooms) is logged without its content,
// and a session it targeted is no longer recoverable from the log.
const ROW_MAX = 1_900_000;

const enc = new TextEncoder();
const dec = new TextDecoder();

function blob(u8) {
  return u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength);
}

// The adapter's shouldIncludePacket (core/recovery.go includes).
function includes(rooms, to, except) {
  let inside = to.length === 0;
  for (const r of rooms) {
    if (except.includes(r)) return false;
    if (!inside && to.includes(r)) inside = true;
  }
  return inside;
}

export class RecoveryStore {
  /**
   * @param {SqlStorage} sql ctx.storage.sql
   * @param {{window: number, maxPackets: number, maxBytes: number}} opts (ms, count, bytes)
   */
  constructor(sql, { window, maxPackets, maxBytes }) {
    this.sql = sql;
    this.window = window;
    this.maxPackets = maxPackets;
    this.maxBytes = maxBytes;
    // storage rows this instance read and wrote (the billing units)
    this.rowsRead = 0;
    this.rowsWritten = 0;
    this.sweepAt = 0; // ms; 0: nothing to expire
    sql.exec(`CREATE TABLE IF NOT EXISTS recovery_log (
      seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, cum INTEGER NOT NULL, size INTEGER NOT NULL,
      nsp TEXT NOT NULL, off TEXT NOT NULL, rooms TEXT NOT NULL, except_rooms TEXT NOT NULL,
      data BLOB, atts BLOB)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS recovery_session (
      pid TEXT PRIMARY KEY, saved INTEGER NOT NULL, expires INTEGER,
      node TEXT NOT NULL, sid TEXT NOT NULL, nsp TEXT NOT NULL, rooms TEXT NOT NULL, data TEXT) WITHOUT ROWID`);
    const last = this._exec("SELECT seq, cum, size FROM recovery_log ORDER BY seq DESC LIMIT 1")[0];
    const first = this._exec("SELECT seq, cum, at FROM recovery_log ORDER BY seq LIMIT 1")[0];
    this.next = last ? { seq: last.seq + 1, cum: last.cum + last.size } : { seq: 1, cum: 0 };
    this.first = first ? { seq: first.seq, cum: first.cum } : { ...this.next };
    if (first) this._sweepBy(first.at + window);
  }

  _exec(query, ...args) {
    const c = this.sql.exec(query, ...args);
    const rows = c.toArray();
    this.rowsRead += c.rowsRead;
    this.rowsWritten += c.rowsWritten;
    return rows;
  }

  _sweepBy(at) {
    if (this.sweepAt === 0 || at < this.sweepAt) this.sweepAt = at;
  }

  /**
   * start runs once per instance, after the sessions were restored: the
   * connected snapshots of sockets that are not here (their instance ended
   * without a snapshot of them) become saved sessions, and the next sweep
   * is planned.
   */
  start(now, connected) {
    for (const r of this._exec("SELECT pid, sid, saved, expires FROM recovery_session")) {
      if (r.saved) this._sweepBy(r.expires);
      else if (!connected.has(r.sid)) {
        this._exec("UPDATE recovery_session SET saved = 1, expires = ? WHERE pid = ?", now + this.window, r.pid);
        this._sweepBy(now + this.window);
      }
    }
  }

  /** stats for the tests: the counts are read from the tables (and not counted in rowsRead). */
  stats() {
    const log = this.sql.exec("SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM recovery_log").one();
    const sessions = { live: 0, saved: 0 };
    for (const r of this.sql.exec("SELECT saved, COUNT(*) AS n FROM recovery_session GROUP BY saved")) {
      sessions[r.saved ? "saved" : "live"] = r.n;
    }
    return {
      packets: this.next.seq - this.first.seq,
      bytes: this.next.cum - this.first.cum,
      logRows: log.n,
      logBytes: log.bytes,
      sessions,
      sweepAt: this.sweepAt,
      rowsRead: this.rowsRead,
      rowsWritten: this.rowsWritten,
    };
  }

  // ---- the core's outputs ---------------------------------------------------

  /** record appends a RecoveryRecord's packet to the log, then trims it to the bounds. */
  record(nsp, p, now) {
    const rooms = JSON.stringify(p.rooms);
    const except = JSON.stringify(p.except);
    let size = p.data.length + p.offset.length + 64;
    for (const a of p.attachments) size += a.length;
    let data = blob(p.data);
    let atts = p.attachments.length > 0 ? blob(new Writer().bytesList(p.attachments).done()) : null;
    if (size + rooms.length + except.length > ROW_MAX) {
      size = p.offset.length + 64;
      data = null;
      atts = null;
    }
    const seq = this.next.seq;
    try {
      this._exec(
        "INSERT INTO recovery_log (seq, at, cum, size, nsp, off, rooms, except_rooms, data, atts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        seq, now, this.next.cum, size, nsp, p.offset, rooms, except, data, atts,
      );
    } catch (e) {
      // a gap in the log would be replayed as if nothing were missing: the
      // log starts over instead (who is away then gets a fresh socket)
      this._dropBefore(null);
      throw e;
    }
    this.next = { seq: seq + 1, cum: this.next.cum + size };
    if (this.first.seq === seq) this._sweepBy(now + this.window);
    this._trimBounds();
  }

  _trimBounds() {
    const count = this.next.seq - this.first.seq;
    const bytes = this.next.cum - this.first.cum;
    if (count <= this.maxPackets && (bytes <= this.maxBytes || count <= 1)) return;
    // the oldest row to keep: within both bounds, and at least the newest
    const keep = this._exec(
      "SELECT seq, cum FROM recovery_log WHERE seq >= ? AND (cum >= ? OR seq = ?) ORDER BY seq LIMIT 1",
      Math.max(this.first.seq, this.next.seq - this.maxPackets), this.next.cum - this.maxBytes, this.next.seq - 1,
    )[0];
    this._dropBefore(keep);
  }

  _dropBefore(keep) {
    if (keep) {
      this._exec("DELETE FROM recovery_log WHERE seq < ?", keep.seq);
      this.first = { seq: keep.seq, cum: keep.cum };
    } else {
      this._exec("DELETE FROM recovery_log");
      this.first = { ...this.next };
    }
  }

  /** session writes a RecoverySession as its state says; data is socket.data as JSON (or null). */
  session(o, data, now) {
    const rooms = JSON.stringify(o.rooms);
    switch (o.state) {
      case STATE.live:
      case STATE.resumed:
        // every live snapshot here is this object's (an earlier instance's
        // for a restored socket): it is replaced
        this._exec(
          `INSERT INTO recovery_session (pid, saved, expires, node, sid, nsp, rooms, data) VALUES (?, 0, NULL, ?, ?, ?, ?, ?)
           ON CONFLICT (pid) DO UPDATE SET saved = 0, expires = NULL, node = excluded.node, sid = excluded.sid,
           nsp = excluded.nsp, rooms = excluded.rooms, data = excluded.data`,
          o.pid, o.node, o.socket, o.nsp, rooms, data,
        );
        return;
      case STATE.saved: {
        // only if the connected snapshot is still there: a lookup that took
        // it (the client came back first) wins
        const expires = now + this.window;
        this._exec(
          "UPDATE recovery_session SET saved = 1, expires = ?, node = ?, sid = ?, nsp = ?, rooms = ?, data = ? WHERE pid = ? AND saved = 0",
          expires, o.node, o.socket, o.nsp, rooms, data, o.pid,
        );
        this._sweepBy(expires);
        return;
      }
      case STATE.gone:
        this._exec("DELETE FROM recovery_session WHERE pid = ? AND saved = 0", o.pid);
        return;
      case STATE.unused: {
        const expires = now + this.window;
        this._exec(
          "INSERT OR REPLACE INTO recovery_session (pid, saved, expires, node, sid, nsp, rooms, data) VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
          o.pid, expires, o.node, o.socket, o.nsp, rooms, o.data && o.data.length ? dec.decode(o.data) : null,
        );
        this._sweepBy(expires);
        return;
      }
    }
  }

  /**
   * lookup answers a RecoveryLookup (the record for RecoveryFound): the
   * session of l.pid, consumed, and the packets of l.nsp after l.offset
   * that targeted its rooms, unless the core has them in memory.
   */
  lookup(l, now) {
    const f = { ref: l.ref, found: false, session: null, offsetFound: false, packets: [] };
    const row = this._exec("SELECT saved, expires, node, sid, nsp, rooms, data FROM recovery_session WHERE pid = ?", l.pid)[0];
    if (!row) return f;
    this._exec("DELETE FROM recovery_session WHERE pid = ?", l.pid);
    if (row.saved && row.expires <= now) return f; // past the window
    const rooms = JSON.parse(row.rooms);
    f.found = true;
    f.session = {
      state: row.saved ? STATE.saved : STATE.live,
      pid: l.pid, socket: row.sid, nsp: row.nsp, rooms, node: row.node,
      data: row.data === null ? null : enc.encode(row.data),
    };
    if (row.nsp !== l.nsp) return f; // another namespace: nothing to recover
    if (row.node === l.node) {
      // held by this instance: its memory has the packets, if the offset is
      // one it named; one an earlier instance named is only in the log, so
      // the answer names that instance (the core then reads the packets)
      if (l.offset.startsWith(l.node)) return f;
      f.session.node = l.offset.slice(0, l.node.length);
    }
    const newest = [];
    const cur = this.sql.exec("SELECT off, rooms, except_rooms, data, atts FROM recovery_log WHERE nsp = ? ORDER BY seq DESC", l.nsp);
    let found = false;
    let lost = false;
    for (const r of cur) {
      if (r.off === l.offset) {
        found = true;
        break;
      }
      const to = JSON.parse(r.rooms);
      const except = JSON.parse(r.except_rooms);
      if (!includes(rooms, to, except)) continue;
      if (r.data === null) lost = true; // too large to keep: cannot be replayed
      newest.push({
        offset: r.off, rooms: to, except, data: new Uint8Array(r.data ?? 0),
        attachments: r.atts === null ? [] : new Reader(new Uint8Array(r.atts)).bytesList(),
      });
    }
    this.rowsRead += cur.rowsRead;
    if (!found || lost) return f; // offset_found false: a fresh socket
    f.offsetFound = true;
    f.packets = newest.reverse();
    return f;
  }

  // ---- expiry -----------------------------------------------------------------

  /** sweep drops the saved sessions and the packets past the window, and plans the next sweep. */
  sweep(now) {
    this._exec("DELETE FROM recovery_session WHERE saved = 1 AND expires <= ?", now);
    const keep = this._exec("SELECT seq, cum, at FROM recovery_log WHERE at > ? ORDER BY seq LIMIT 1", now - this.window)[0];
    if (keep ? keep.seq !== this.first.seq : this.first.seq !== this.next.seq) this._dropBefore(keep);
    this.sweepAt = 0;
    if (keep) this._sweepBy(keep.at + this.window);
    const next = this._exec("SELECT MIN(expires) AS at FROM recovery_session WHERE saved = 1")[0];
    if (next?.at != null) this._sweepBy(next.at);
    // not more often than a tenth of the window (between 1 s and 1 min):
    // a lookup checks the expiry itself, the sweep only frees storage
    if (this.sweepAt !== 0) this.sweepAt = Math.max(this.sweepAt, now + Math.min(60000, Math.max(1000, Math.ceil(this.window / 10))));
  }
}

/** encodeRecoveryFound is the RecoveryFound input record (wasm/ABI.md 0x0107). */
export function encodeRecoveryFound(f) {
  const w = new Writer().u64(f.ref).bool(f.found);
  const s = f.session ?? { state: STATE.none, pid: "", socket: "", nsp: "", rooms: [], node: "", data: null };
  w.u8(s.state).str(s.pid).str(s.socket).str(s.nsp).strs(s.rooms).str(s.node).bytes(s.data);
  w.bool(f.offsetFound).u32(f.packets.length);
  for (const p of f.packets) w.str(p.offset).strs(p.rooms).strs(p.except).bytes(p.data).bytesList(p.attachments);
  return w.done();
}
