// core.wasm: compiled once per source (streaming compilation where the
// platform has it), one instance per Manager running the client role.
import { WASI } from "./wasi.js";
import { init } from "./abi.js";

const ABI_VERSION = 3;
const compiled = new Map(); // source → Promise<WebAssembly.Module>
let started = false; // a Machine ran: marked once
// A performance mark for profiling (DevTools' Timings, test/connect-time.mjs):
// a few per page, not per connection.
const mark = (name) => globalThis.performance?.mark?.(name);

/** The default location of core.wasm: next to this module. */
export const defaultWasm = () => new URL("./core.wasm", import.meta.url);

/**
 * Compiles core.wasm (cached per URL): src is a URL or string, a
 * WebAssembly.Module (workerd imports it so), a Response, or bytes.
 */
export function compile(src = defaultWasm()) {
  if (src instanceof WebAssembly.Module) return Promise.resolve(src);
  const key = typeof src === "string" || src instanceof URL ? String(src) : src;
  let p = compiled.get(key);
  if (!p) {
    p = compileNow(src).then((m) => (mark("socketcore:core.wasm compiled"), m));
    compiled.set(key, p);
    p.catch(() => compiled.delete(key));
  }
  return p;
}

async function compileNow(src) {
  if (typeof src === "string" || src instanceof URL) {
    const url = new URL(src, globalThis.location?.href);
    if (url.protocol === "file:") {
      // Node: no import expression here, so that bundlers and workerd
      // (miniflare, wrangler) do not look for node:fs in the module graph
      const fs = globalThis.process?.getBuiltinModule?.("node:fs/promises");
      if (!fs) throw new Error(`core.wasm: cannot read ${url} here (Node ≥ 20.16 can): pass opts.wasm (bytes or a WebAssembly.Module)`);
      return WebAssembly.compile(await fs.readFile(url));
    }
    src = fetch(url);
  }
  src = await src;
  if (typeof Response !== "undefined" && src instanceof Response) {
    if (!src.ok) throw new Error(`core.wasm: HTTP ${src.status} for ${src.url}`);
    if (WebAssembly.compileStreaming && (src.headers.get("content-type") || "").startsWith("application/wasm")) {
      return WebAssembly.compileStreaming(src);
    }
    src = await src.arrayBuffer();
  }
  return WebAssembly.compile(src);
}

/** One instance of core.wasm running the client role. */
export class Machine {
  constructor(module) {
    const wasi = new WASI({ write: (fd, t) => console.error("core.wasm:", t) });
    const inst = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.imports });
    wasi.initialize(inst);
    const x = (this.x = inst.exports);
    if (x.sio_abi_version() !== ABI_VERSION) {
      throw new Error(`core.wasm speaks ABI version ${x.sio_abi_version()}, this SDK version ${ABI_VERSION}`);
    }
    this.mem = x.memory;
    this.size = 0;
    this._grow(65536);
    const st = this._new(init());
    if (st !== 0) throw new Error(`core.wasm: sio_new refused the client role (status ${st}): rebuild it`);
    if (!started) mark("socketcore:core.wasm started"), (started = true);
  }
  _grow(n) {
    if (n <= this.size) return;
    n = Math.max(n, this.size * 2);
    const p = this.x.sio_buffer(n);
    if (!p) throw new Error("core.wasm: no exchange area");
    this.ptr = p;
    this.size = n;
  }
  _put(rec) {
    this._grow(rec.length);
    new Uint8Array(this.mem.buffer, this.ptr, rec.length).set(rec);
  }
  _new(rec) {
    this._put(rec);
    return this.x.sio_new(this.ptr, rec.length);
  }
  /** sio_handle: returns the reply's bytes (empty when none); throws on a status. */
  call(now, kind, rec) {
    this._put(rec);
    let n = Number(this.x.sio_handle(BigInt(now), kind, this.ptr, rec.length, this.size));
    if (n < 0) {
      const e = new Error(`core.wasm refused call 0x${kind.toString(16)}: status ${n}`);
      e.status = n;
      throw e;
    }
    if (n > this.size) {
      this._grow(n);
      n = Number(this.x.sio_reply(this.ptr, this.size));
    }
    return new Uint8Array(this.mem.buffer, this.ptr, n).slice();
  }
  /** sio_poll: the next output as [kind, bytes]. */
  poll() {
    for (;;) {
      const r = this.x.sio_poll(this.ptr, this.size);
      if (r < 0n) throw new Error(`core.wasm: sio_poll status ${r}`);
      const k = Number(r >> 32n);
      const n = Number(r & 0xffffffffn);
      if (n > this.size) {
        this._grow(n);
        continue;
      }
      return [k, new Uint8Array(this.mem.buffer, this.ptr, n).slice()];
    }
  }
}
