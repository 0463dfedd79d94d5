// A tiny WASI preview1 shim for core.wasm (wasm/ABI.md §3), dependency-free
// ESM for browsers, Node and Cloudflare Workers. core.wasm imports only the
// wasi_snapshot_preview1 functions the Go runtime uses; its behaviour never
// depends on their results (time and entropy reach the core as arguments),
// so this shim gives: no arguments, no environment, no preopened
// directories, stdout/stderr through `write` (line-buffered text), the
// host's clocks, crypto.getRandomValues for random_get, and an exception for
// proc_exit (the Go runtime calls it after a panic: the instance is dead).
//
//   const wasi = new WASI({ write: (fd, text) => console.error(text) });
//   const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.imports });
//   wasi.setMemory(instance.exports.memory); // or wasi.start(instance)
//   instance.exports._initialize();

const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const ERRNO_INVAL = 28;
const ERRNO_NOSYS = 52;

/** ProcExit is thrown by proc_exit: the module asked to stop (code != 0 after a Go panic). */
export class ProcExit extends Error {
  constructor(code) {
    super(`wasm module exited with code ${code}`);
    this.name = "ProcExit";
    this.code = code;
  }
}

export class WASI {
  /**
   * @param {object} [opts]
   * @param {() => WebAssembly.Memory} [opts.memory] getter of the instance's memory (or call setMemory later)
   * @param {(fd: number, text: string) => void} [opts.write] receives complete lines written to fd 1 and 2
   * @param {() => bigint} [opts.realtimeNs] wall clock in ns (default Date.now())
   * @param {() => bigint} [opts.monotonicNs] monotonic clock in ns (default performance.now() or Date.now())
   * @param {(buf: Uint8Array) => void} [opts.random] fills buf (default crypto.getRandomValues)
   */
  constructor(opts = {}) {
    this._memory = opts.memory ?? null;
    this._write = opts.write ?? ((fd, text) => console.error(text));
    this._realtime = opts.realtimeNs ?? (() => BigInt(Date.now()) * 1000000n);
    this._monotonic =
      opts.monotonicNs ??
      (typeof performance !== "undefined" && performance.now
        ? () => BigInt(Math.round(performance.now() * 1e6))
        : () => BigInt(Date.now()) * 1000000n);
    this._random = opts.random ?? ((b) => fillRandom(b));
    this._pending = ["", "", ""];
    const self = this;
    this.imports = {
      args_get: () => ERRNO_SUCCESS,
      args_sizes_get: (argc, bufSize) => self._sizes(argc, bufSize),
      environ_get: () => ERRNO_SUCCESS,
      environ_sizes_get: (count, bufSize) => self._sizes(count, bufSize),
      clock_res_get: (id, out) => {
        self._view().setBigUint64(out, 1000n, true);
        return ERRNO_SUCCESS;
      },
      clock_time_get: (id, precision, out) => {
        const ns = id === 0 ? self._realtime() : self._monotonic();
        self._view().setBigUint64(out, BigInt.asUintN(64, ns), true);
        return ERRNO_SUCCESS;
      },
      random_get: (ptr, len) => {
        const b = new Uint8Array(self._mem().buffer, ptr, len);
        // getRandomValues takes at most 65536 bytes at a time
        for (let off = 0; off < len; off += 65536) self._random(b.subarray(off, Math.min(len, off + 65536)));
        return ERRNO_SUCCESS;
      },
      fd_write: (fd, iovs, iovsLen, nwritten) => self._fdWrite(fd, iovs, iovsLen, nwritten),
      fd_fdstat_get: (fd, out) => {
        if (fd > 2) return ERRNO_BADF;
        const v = self._view();
        v.setUint8(out, 2); // filetype: character device
        v.setUint16(out + 2, 0, true);
        v.setBigUint64(out + 8, 0n, true);
        v.setBigUint64(out + 16, 0n, true);
        return ERRNO_SUCCESS;
      },
      fd_fdstat_set_flags: () => ERRNO_SUCCESS,
      fd_prestat_get: () => ERRNO_BADF, // no preopened directories
      fd_prestat_dir_name: () => ERRNO_BADF,
      fd_close: () => ERRNO_SUCCESS,
      fd_seek: () => ERRNO_NOSYS,
      fd_read: () => ERRNO_NOSYS,
      sched_yield: () => ERRNO_SUCCESS,
      // The Go runtime polls only to sleep when every goroutine is blocked,
      // which a reactor driven by exports never does; report no events.
      poll_oneoff: (inPtr, outPtr, nsubs, neventsPtr) => {
        self._view().setUint32(neventsPtr, 0, true);
        return nsubs > 0 ? ERRNO_SUCCESS : ERRNO_INVAL;
      },
      proc_exit: (code) => {
        self._flush();
        throw new ProcExit(code);
      },
    };
  }

  /** Sets the memory (an export of the instance) the imports read and write. */
  setMemory(memory) {
    this._memory = memory;
  }

  /** Sets the memory from a reactor instance and runs its _initialize export. */
  initialize(instance) {
    this.setMemory(instance.exports.memory);
    if (typeof instance.exports._initialize === "function") instance.exports._initialize();
  }

  _mem() {
    const m = typeof this._memory === "function" ? this._memory() : this._memory;
    if (!m) throw new Error("wasi: memory not set");
    return m;
  }

  _view() {
    return new DataView(this._mem().buffer);
  }

  _sizes(countPtr, sizePtr) {
    const v = this._view();
    v.setUint32(countPtr, 0, true);
    v.setUint32(sizePtr, 0, true);
    return ERRNO_SUCCESS;
  }

  _fdWrite(fd, iovs, iovsLen, nwrittenPtr) {
    if (fd !== 1 && fd !== 2) return ERRNO_BADF;
    const mem = this._mem();
    const v = new DataView(mem.buffer);
    let total = 0;
    let text = "";
    const dec = new TextDecoder();
    for (let i = 0; i < iovsLen; i++) {
      const ptr = v.getUint32(iovs + i * 8, true);
      const len = v.getUint32(iovs + i * 8 + 4, true);
      text += dec.decode(new Uint8Array(mem.buffer, ptr, len));
      total += len;
    }
    let pending = this._pending[fd] + text;
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      this._write(fd, pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
    this._pending[fd] = pending;
    v.setUint32(nwrittenPtr, total, true);
    return ERRNO_SUCCESS;
  }

  _flush() {
    for (const fd of [1, 2]) {
      if (this._pending[fd]) this._write(fd, this._pending[fd]);
      this._pending[fd] = "";
    }
  }
}

function fillRandom(b) {
  const c = globalThis.crypto;
  if (!c || !c.getRandomValues) throw new Error("wasi: no crypto.getRandomValues for random_get");
  c.getRandomValues(b);
}
