// Writes testdata/msgpack.json: vectors of socket.io-msgpack-parser@3.0.2
// (over its notepack.io@2.2.0), the judge of core/sio/msgpack.go. From the
// repository root, after `npm ci`:
//
//	node core/sio/testdata/msgpack.mjs > core/sio/testdata/msgpack.json
//
// encode: packet objects built as socket.io@4.8.4's server builds them (key
//   order included), encoded by the real Encoder; with our form of the same
//   packet (JSON data with placeholders + attachments). exact=false marks the
//   packets whose bytes we do not reproduce (see the note).
// numbers: a JSON number literal and what notepack writes for JSON.parse of
//   it (want: our bytes, which differ where notepack wraps modulo 2^64).
// decode: messages (built by the real encoder as socket.io-client@4.8.4
//   builds its packets, or written by hand) and the real Decoder's verdict:
//   the packet in our form (JSON.stringify with binary as placeholders), or
//   its error.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const parserPath = require.resolve("socket.io-msgpack-parser");
const parser = require(parserPath);
const notepack = createRequire(parserPath)("notepack.io");
const notepackVersion = createRequire(parserPath)("notepack.io/package.json").version;
if (notepackVersion !== "2.2.0") throw new Error(`notepack.io ${notepackVersion}, want 2.2.0`);

const hex = (b) => Buffer.from(b).toString("hex");
const encode = (packet) => {
  const out = new parser.Encoder().encode(packet);
  if (out.length !== 1) throw new Error("more than one message");
  return out[0];
};

// ours turns a JS payload into our form: JSON text with every Buffer /
// ArrayBuffer as a placeholder, and the attachments.
function ours(data) {
  const atts = [];
  if (data === undefined) return { data: null, atts };
  const json = JSON.stringify(data, function (k, v) {
    const orig = this[k];
    if (Buffer.isBuffer(orig) || orig instanceof ArrayBuffer) {
      atts.push(hex(Buffer.from(orig)));
      return { _placeholder: true, num: atts.length - 1 };
    }
    return v;
  });
  return { data: json, atts };
}

const bytes = (n, f = (i) => i & 0xff) => Buffer.from(Array.from({ length: n }, (_, i) => f(i)));

// ---- encode ---------------------------------------------------------------

const enc = [];
function addEnc(name, packet, exact = true, note = undefined) {
  const o = ours(packet.data);
  enc.push({
    name,
    type: packet.type,
    nsp: packet.nsp,
    id: packet.id,
    data: o.data,
    atts: o.atts,
    hex: hex(encode(packet)),
    exact,
    note,
  });
}
// socket.emit: {type, data}, id when an ack is asked, then packet(): nsp
addEnc("emit", { type: 2, data: ["hello", "world", 1, 2.5, -3, true, null, { a: "b", c: [1, 2] }], nsp: "/" });
addEnc("emit with ack", { type: 2, data: ["ask", "q"], id: 7, nsp: "/chat" });
addEnc("emit, namespace with a comma", { type: 2, data: ["x"], nsp: "/a,b" });
addEnc("emit binary", { type: 2, data: ["file", bytes(3), { nested: [Buffer.from("xyz")] }, "after"], nsp: "/" });
addEnc("emit binary 300 bytes (bin 16)", { type: 2, data: ["big", bytes(300)], nsp: "/" });
addEnc("emit empty binary", { type: 2, data: ["empty", Buffer.alloc(0)], nsp: "/" });
// ack(): {id, type, data}, then nsp
addEnc("ack", { id: 5, type: 3, data: ["ok", { n: 1 }], nsp: "/" });
addEnc("ack, no arguments", { id: 0, type: 3, data: [], nsp: "/chat" });
addEnc("ack binary", { id: 9, type: 3, data: [bytes(4), "x"], nsp: "/" });
// broadcast: {type, data}, adapter: nsp (broadcastWithAck: then id)
addEnc("broadcast", { type: 2, data: ["news", { items: Array.from({ length: 20 }, (_, i) => i * 1000) }], nsp: "/" });
addEnc("broadcast with ack", { type: 2, data: ["poll"], nsp: "/", id: 3 }, false,
  "broadcastWithAck adds id after nsp; we write {type, data, id, nsp} as socket.emit does");
// _onconnect: {type, data: {sid, pid}}, then nsp
addEnc("connect reply, recovery on", { type: 0, data: { sid: "AAAAAAAAAAAAAAAAAAAA", pid: "BBBBBBBBBBBBBBBBBBBB" }, nsp: "/" });
addEnc("connect reply", { type: 0, data: { sid: "AAAAAAAAAAAAAAAAAAAA", pid: undefined }, nsp: "/chat" }, false,
  "Node writes pid: undefined (fixext 1); we leave pid out, which the client reads the same");
addEnc("connect reply, v3 client", { type: 0, nsp: "/" });
// _error: {type, data: {message, data}} then nsp
addEnc("connect_error with data", { type: 4, data: { message: "unauthorized", data: { reason: "bad token" } }, nsp: "/chat" });
addEnc("connect_error, no data", { type: 4, data: { message: "refused", data: undefined }, nsp: "/chat" }, false,
  "Node writes data: undefined; we leave it out");
addEnc("connect_error, v3 client", { type: 4, data: "plain refusal", nsp: "/plain" });
addEnc("connect_error invalid namespace", { type: 4, nsp: "/nope", data: { message: "Invalid namespace" } }, false,
  "client.ts writes {type, nsp, data}; we write {type, data, nsp}");
addEnc("disconnect", { type: 1, nsp: "/chat" });
// every encoding of containers and strings
addEnc("array 16 and map 16", {
  type: 2,
  data: ["big", Array.from({ length: 16 }, (_, i) => i), Object.fromEntries(Array.from({ length: 16 }, (_, i) => ["k" + i, i]))],
  nsp: "/",
});
addEnc("strings", {
  type: 2,
  data: ["s", "", "é", "😀 emoji", "\u0000\u001f\"\\/", "x".repeat(31), "y".repeat(32), "z".repeat(255), "w".repeat(256),
    "é".repeat(40), "\u2028\u2029<>&"],
  nsp: "/",
});
addEnc("long string with a lone surrogate", { type: 2, data: ["s", "\ud800" + "a".repeat(40)], nsp: "/" });

// ---- numbers --------------------------------------------------------------

const numbers = [];
const float64 = (v) => {
  const b = Buffer.alloc(9);
  b[0] = 0xcb;
  b.writeDoubleBE(v, 1);
  return b;
};
for (const lit of [
  "0", "-0", "0.0", "-0.0", "1", "127", "128", "255", "256", "65535", "65536", "4294967295", "4294967296",
  "9007199254740991", "9007199254740992", "9007199254740993", "1e2", "1.0", "1.5e3", "-1", "-32", "-33", "-128",
  "-129", "-32768", "-32769", "-2147483648", "-2147483649", "-9007199254740993", "0.5", "-0.5", "0.1",
  "3.141592653589793", "1e300", "5e-324", "1e-400", "1e400", "-1e400", "9223372036854775807", "9223372036854775808",
  "-9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616",
  "123456789012345678901234567890", "-1e20", "1e21", "2.5E-3",
]) {
  const v = JSON.parse(lit);
  const np = notepack.encode(v);
  const wraps = Number.isInteger(v) && (v >= 2 ** 64 || v < -(2 ** 63));
  numbers.push({ json: lit, notepack: hex(np), want: hex(wraps ? float64(v) : np), wraps });
}

// ---- decode ---------------------------------------------------------------

const dec = [];
function addDec(name, msg, strict = undefined) {
  const b = typeof msg === "string" ? Buffer.from(msg.replace(/ /g, ""), "hex") : msg;
  const d = new parser.Decoder();
  let got, error;
  d.on("decoded", (p) => (got = p));
  try {
    d.add(b);
  } catch (e) {
    error = e.message;
  }
  const v = { name, hex: hex(b) };
  if (error !== undefined) {
    v.error = error;
  } else {
    const o = ours(got.data);
    Object.assign(v, { type: got.type, nsp: got.nsp, id: got.id, data: o.data, atts: o.atts });
  }
  if (strict) v.strict = strict; // accepted by Node, refused by us on purpose
  dec.push(v);
}
const c = (p) => encode(p);
// what socket.io-client@4.8.4 writes: emit adds options, CONNECT data is the auth (undefined without)
addDec("client emit", c({ type: 2, data: ["hi", 1, { a: [true, null] }], options: { compress: true }, nsp: "/" }));
addDec("client emit with ack", c({ type: 2, data: ["ask"], options: { compress: true }, id: 12, nsp: "/chat" }));
addDec("client ack", c({ type: 3, id: 4, data: ["answer", 42], nsp: "/" }));
addDec("client connect, no auth", c({ type: 0, data: undefined, nsp: "/" }));
addDec("client connect with auth", c({ type: 0, data: { token: "t0k3n" }, nsp: "/chat" }));
addDec("client connect, recovery", c({ type: 0, data: { pid: "p", offset: "o", token: "x" }, nsp: "/" }));
addDec("client disconnect", c({ type: 1, nsp: "/chat" }));
addDec("client binary", c({ type: 2, data: ["up", Buffer.from([1, 2, 3]), { deep: [Buffer.from("ab")] }], options: { compress: true }, nsp: "/" }));
addDec("client ArrayBuffer (ext 0)", c({ type: 2, data: ["ab", new Uint8Array([9, 8, 7]).buffer], nsp: "/" }));
addDec("client Uint8Array view (ext 0, whole buffer)", c({ type: 2, data: ["view", new Uint8Array(new ArrayBuffer(4), 1, 2)], nsp: "/" }));
addDec("client Date", c({ type: 2, data: ["when", new Date(Date.UTC(2024, 1, 29, 13, 45, 6, 789)), new Date(-1), new Date(0)], nsp: "/" }));
addDec("client Date, far years", c({ type: 2, data: ["when", new Date(-62167219200000), new Date(-62167219200001), new Date(253402300800000), new Date(8.64e15), new Date(-8.64e15)], nsp: "/" }));
addDec("Date beyond the range: Invalid Date", "83 a4 74797065 02 a4 64617461 93 a1 64 d7 00 001eb208c2dc0001 d7 00 7fffffffffffffff a3 6e7370 a1 2f");
addDec("client undefined", c({ type: 2, data: ["u", undefined, { a: undefined, b: 1 }], nsp: "/" }));
addDec("client numbers", c({ type: 2, data: ["n", 0, -0, 2 ** 32, -(2 ** 31) - 1, 2 ** 53, 0.1, -1e300, NaN, Infinity], nsp: "/" }));
addDec("client numeric event name", c({ type: 2, data: [42, "x"], nsp: "/" }));
addDec("client ack binary", c({ type: 3, id: 1, data: [Buffer.from([0xff])], nsp: "/" }));
addDec("client ack, id 2^53-1", c({ type: 3, id: 2 ** 53 - 1, data: [], nsp: "/" }));
// by hand
addDec("type as float 2.0", "83 a4 74797065 cb 4000000000000000 a4 64617461 91 a1 78 a3 6e7370 a1 2f");
addDec("type as float32 2.0", "83 a4 74797065 ca 40000000 a4 64617461 91 a1 78 a3 6e7370 a1 2f");
addDec("type as uint64 2", "83 a4 74797065 cf 0000000000000002 a4 64617461 91 a1 78 a3 6e7370 a1 2f");
addDec("id as float 3.0", "84 a4 74797065 02 a4 64617461 91 a1 78 a2 6964 cb 4008000000000000 a3 6e7370 a1 2f");
addDec("id undefined", "84 a4 74797065 02 a4 64617461 91 a1 78 a2 6964 d4 00 00 a3 6e7370 a1 2f");
addDec("repeated type key, last wins", "84 a4 74797065 07 a4 74797065 02 a4 64617461 91 a1 78 a3 6e7370 a1 2f");
addDec("float32 values", "83 a4 74797065 02 a4 64617461 93 a1 66 ca 3dcccccd ca 7fc00000 a3 6e7370 a1 2f");
addDec("uint64 beyond 2^53", "83 a4 74797065 02 a4 64617461 93 a1 62 cf 0020000000000001 cf ffffffffffffffff a3 6e7370 a1 2f");
addDec("int64 min", "83 a4 74797065 02 a4 64617461 92 a1 62 d3 8000000000000000 a3 6e7370 a1 2f");
addDec("ext tuple (fixext 2)", "83 a4 74797065 02 a4 64617461 92 a1 65 d5 05 0102 a3 6e7370 a1 2f");
addDec("ext tuple (ext 8, type -1)", "83 a4 74797065 02 a4 64617461 92 a1 65 c7 03 ff 010203 a3 6e7370 a1 2f");
addDec("ext tuple as the whole data", "83 a4 74797065 02 a4 64617461 d6 07 01020304 a3 6e7370 a1 2f");
addDec("fixext 1 type 0 in an array: undefined", "83 a4 74797065 02 a4 64617461 92 a1 65 d4 00 00 a3 6e7370 a1 2f");
addDec("fixext 2 type 0: a tuple", "83 a4 74797065 02 a4 64617461 92 a1 65 d5 00 0102 a3 6e7370 a1 2f");
addDec("ext 8 length 1 type 0: an ArrayBuffer", "83 a4 74797065 02 a4 64617461 92 a1 65 c7 01 00 ff a3 6e7370 a1 2f");
addDec("invalid UTF-8 in strings", "83 a4 74797065 02 a4 64617461 94 a1 73 a3 e282ff a4 f0908041 a6 eda080c0af61 a3 6e7370 a1 2f");
addDec("invalid UTF-8 in the namespace", "82 a4 74797065 00 a3 6e7370 a2 2fff");
addDec("non-string map keys", "83 a4 74797065 02 a4 64617461 92 a1 6b 86 01 a1 61 c3 a1 62 c0 a1 63 cb 3ff8000000000000 a1 64 d4 00 00 a1 65 c4 02 6869 a1 66 a3 6e7370 a1 2f");
addDec("repeated data key", "83 a4 74797065 02 a4 64617461 92 a1 6b 82 a1 61 01 a1 61 02 a3 6e7370 a1 2f");
addDec("empty namespace", "82 a4 74797065 00 a3 6e7370 a0");
addDec("namespace without a slash", "82 a4 74797065 00 a3 6e7370 a3 616263");
addDec("unknown keys ignored", "84 a4 74797065 01 a3 6e7370 a1 2f a5 6f74686572 92 c0 82 01 02 c4 01 00 c0 a2 6964 d4 00 00");
addDec("event with an empty array", "83 a4 74797065 02 a4 64617461 90 a3 6e7370 a1 2f");
addDec("event named null", "83 a4 74797065 02 a4 64617461 91 c0 a3 6e7370 a1 2f");
addDec("connect_error string", "83 a4 74797065 04 a4 64617461 a1 78 a3 6e7370 a1 2f");
addDec("string 8/16 headers for short strings", "83 a4 74797065 02 a4 64617461 92 d9 01 78 da 0001 79 a3 6e7370 a1 2f");
addDec("array 16/32 headers for short arrays", "83 a4 74797065 02 a4 64617461 dc 0002 a1 78 dd 00000000 a3 6e7370 a1 2f");
addDec("map 16 header for a small map", "de 0003 a4 74797065 02 a4 64617461 91 a1 78 a3 6e7370 a1 2f");
// refused by the real decoder
addDec("type 5", "83 a4 74797065 05 a4 64617461 91 a1 78 a3 6e7370 a1 2f");
addDec("type 6", "83 a4 74797065 06 a4 64617461 91 a1 78 a3 6e7370 a1 2f");
addDec("type -1", "83 a4 74797065 ff a4 64617461 91 a1 78 a3 6e7370 a1 2f");
addDec("type 1.5", "82 a4 74797065 cb 3ff8000000000000 a3 6e7370 a1 2f");
addDec("type a string", "83 a4 74797065 a1 32 a4 64617461 91 a1 78 a3 6e7370 a1 2f");
addDec("type Infinity", "82 a4 74797065 cb 7ff0000000000000 a3 6e7370 a1 2f");
addDec("type undefined", "82 a4 74797065 d4 00 00 a3 6e7370 a1 2f");
addDec("no type", "82 a4 64617461 91 a1 78 a3 6e7370 a1 2f");
addDec("no namespace", "82 a4 74797065 02 a4 64617461 91 a1 78");
addDec("namespace a number", "83 a4 74797065 02 a4 64617461 91 a1 78 a3 6e7370 01");
addDec("namespace nil", "82 a4 74797065 01 a3 6e7370 c0");
addDec("namespace binary", "82 a4 74797065 01 a3 6e7370 c4 01 2f");
addDec("event data a map", "83 a4 74797065 02 a4 64617461 80 a3 6e7370 a1 2f");
addDec("event data missing", "82 a4 74797065 02 a3 6e7370 a1 2f");
addDec("event data nil", "83 a4 74797065 02 a4 64617461 c0 a3 6e7370 a1 2f");
addDec("event data undefined", "83 a4 74797065 02 a4 64617461 d4 00 00 a3 6e7370 a1 2f");
addDec("event data an ArrayBuffer", "83 a4 74797065 02 a4 64617461 c7 01 00 ff a3 6e7370 a1 2f");
addDec("event data a Date", "83 a4 74797065 02 a4 64617461 d7 00 0000000000000000 a3 6e7370 a1 2f");
addDec("ack data missing", "83 a4 74797065 03 a2 6964 01 a3 6e7370 a1 2f");
addDec("connect data an array", "83 a4 74797065 00 a4 64617461 90 a3 6e7370 a1 2f");
addDec("connect data a string", "83 a4 74797065 00 a4 64617461 a1 78 a3 6e7370 a1 2f");
addDec("connect data nil", "83 a4 74797065 00 a4 64617461 c0 a3 6e7370 a1 2f");
addDec("disconnect with data", "83 a4 74797065 01 a4 64617461 80 a3 6e7370 a1 2f");
addDec("disconnect data nil", "83 a4 74797065 01 a4 64617461 c0 a3 6e7370 a1 2f");
addDec("connect_error data an array", "83 a4 74797065 04 a4 64617461 90 a3 6e7370 a1 2f");
addDec("connect_error no data", "82 a4 74797065 04 a3 6e7370 a1 2f");
addDec("id a string", "84 a4 74797065 02 a4 64617461 91 a1 78 a2 6964 a1 31 a3 6e7370 a1 2f");
addDec("id 1.5", "84 a4 74797065 02 a4 64617461 91 a1 78 a2 6964 cb 3ff8000000000000 a3 6e7370 a1 2f");
addDec("id nil", "84 a4 74797065 02 a4 64617461 91 a1 78 a2 6964 c0 a3 6e7370 a1 2f");
addDec("top level an array", "93 02 91 a1 78 a1 2f");
addDec("top level nil", "c0");
addDec("top level a string", "a1 32");
addDec("top level a number", "02");
addDec("empty message", "");
addDec("truncated", "83 a4 74797065 02 a4 64617461 91 a1 78 a3 6e7370 a1");
addDec("truncated string", "83 a4 74797065 02 a4 64617461 91 a5 78");
addDec("truncated bin", "83 a4 74797065 02 a4 64617461 92 a1 78 c5 0100 01");
addDec("trailing byte", "82 a4 74797065 01 a3 6e7370 a1 2f 00");
addDec("0xc1", "82 a4 74797065 01 a3 6e7370 c1");
addDec("array announcing more than there is", "83 a4 74797065 02 a4 64617461 dd ffffffff a3 6e7370 a1 2f");
// accepted by Node, refused by us on purpose (strict: the reason)
addDec("reserved event name", c({ type: 2, data: ["disconnect", "x"], nsp: "/" }), "reserved event name");
addDec("negative ack id", "84 a4 74797065 02 a4 64617461 91 a1 78 a2 6964 ff a3 6e7370 a1 2f", "ack id outside [0, 2^53-1]");
addDec("ack id 2^53", "84 a4 74797065 03 a4 64617461 90 a2 6964 cf 0020000000000000 a3 6e7370 a1 2f", "ack id outside [0, 2^53-1]");
addDec("binary in connect auth", c({ type: 0, data: { token: Buffer.from([1]) }, nsp: "/" }), "binary in a CONNECT payload");
addDec("literal placeholder with binary", c({ type: 2, data: ["x", { _placeholder: true, num: 0 }, Buffer.from([1])], nsp: "/" }), "a map that reads as a placeholder, with binary");
addDec("array as a map key", "83 a4 74797065 02 a4 64617461 92 a1 6b 81 91 01 02 a3 6e7370 a1 2f", "an array as a map key");
addDec("eleven binaries", c({ type: 2, data: ["many", ...Array.from({ length: 11 }, () => Buffer.from([1]))], nsp: "/" }), "more attachments than MaxAttachments (10)");

process.stdout.write(JSON.stringify({ parser: "socket.io-msgpack-parser@3.0.2", notepack: "notepack.io@" + notepackVersion, encode: enc, numbers, decode: dec }, null, 1) + "\n");
