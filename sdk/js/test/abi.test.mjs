// The SDK's codec against the golden vectors of wasm/abi/testdata/records.json.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { K, W, output, config, init } from "../src/abi.js";

const file = JSON.parse(await readFile(new URL("../../../wasm/abi/testdata/records.json", import.meta.url), "utf8"));
const vec = (name) => {
  const r = file.records.find((r) => r.name === name);
  assert.ok(r, `no vector ${name}`);
  return { kind: Number(r.kind), hex: r.hex, value: r.value, bytes: Uint8Array.from(Buffer.from(r.hex, "hex")) };
};
const hex = (b) => Buffer.from(b).toString("hex");

test("encoders: Init (client role), ClientConfig, AddSocket, ClientEmit, HTTPResponse", () => {
  const z = vec("init: zero config (defaults)");
  const i = init();
  assert.equal(i.length, z.bytes.length);
  assert.equal(hex(i.subarray(1)), hex(z.bytes.subarray(1)));
  const c = vec("client: config, every field");
  const v = c.value;
  const seed = Uint8Array.from(v.Seed);
  // the SDK leaves the limits and the parser at their defaults: compare the fields it sets
  const mine = config({
    secure: v.Secure, host: v.Host, path: v.Path, query: v.Query, transports: v.Transports, noUpgrade: v.NoUpgrade,
    rememberUpgrade: v.RememberUpgrade, tryAllTransports: v.TryAllTransports, noTimestamp: v.NoTimestamp,
    noReconnection: v.NoReconnection, attempts: v.ReconnectionAttempts, delay: v.ReconnectionDelay / 1e6,
    delayMax: v.ReconnectionDelayMax / 1e6, jitter: v.RandomizationFactor, timeout: v.Timeout / 1e6, seed,
  });
  const tail = 8 * 3 + 1 + 32;
  assert.equal(mine.length, c.bytes.length);
  assert.equal(hex(mine.subarray(0, mine.length - tail)), hex(c.bytes.subarray(0, c.bytes.length - tail)));
  assert.equal(hex(mine.subarray(mine.length - 32)), hex(seed));
  const a = vec("client: add socket, dynamic auth");
  assert.equal(hex(new W().str("/").bytes(null).bool(true).i64(0).i64(0).done()), a.hex);
  const e = vec("client: emit, ack, binary, flags");
  const w = new W().str("/chat").str('["up",{"_placeholder":true,"num":0}]').list([new Uint8Array([1, 2, 3])], W.prototype.bytes);
  assert.equal(hex(w.bool(true).i64(5000 * 1e6).bool(true).bool(true).done()), e.hex);
  const h = vec("client: http response, error status, no body");
  assert.equal(hex(new W().i64(4).i64(400).bytes(new Uint8Array(0)).done()), h.hex);
  assert.equal(e.kind, K.Emit);
  // the commands without fields: their kinds
  for (const [name, k] of [["client: open", K.Open], ["client: close", K.Close], ["client: close engine", K.CloseEngine]]) {
    const v = vec(name);
    assert.equal(v.kind, k, name);
    assert.equal(v.hex, "", name);
  }
});

test("decoders: the outputs the SDK performs", () => {
  const f = vec("client: fetch post");
  assert.deepEqual({ ...output(f.kind, f.bytes), body: undefined }, { k: K.Fetch, conn: 2, method: "POST", url: f.value.URL, type: f.value.ContentType, body: undefined });
  const s = vec("send: text and binary frames");
  const o = output(s.kind, s.bytes);
  assert.equal(o.frames.length, 2);
  assert.equal(o.frames[1].bin, true);
  const ce = vec("client: connect error, server");
  assert.deepEqual(output(ce.kind, ce.bytes), { k: K.ConnectError, nsp: "/chat", message: "unauthorized", data: '{"reason":"bad token"}', server: true });
  const d = vec("client: socket disconnected");
  assert.equal(output(d.kind, d.bytes).reason, "io server disconnect");
  const ev = vec("event received: ack");
  assert.deepEqual(output(ev.kind, ev.bytes), { k: K.Event, socket: "s1", name: "echo", data: '["echo",1]', atts: [], ack: 9 });
  const w = vec("wait: deadline");
  assert.equal(output(w.kind, w.bytes).deadline, 25000000001);
});
