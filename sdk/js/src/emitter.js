// A small event emitter (the @socket.io/component-emitter API the official
// client exposes). A listener that throws does not stop the others: the
// error is rethrown on its own task.

export class Emitter {
  on(ev, fn) {
    ((this._ev ??= new Map()).get(ev) ?? this._ev.set(ev, []).get(ev)).push(fn);
    return this;
  }
  addEventListener(ev, fn) {
    return this.on(ev, fn);
  }
  once(ev, fn) {
    const w = (...a) => {
      this.off(ev, w);
      fn.apply(this, a);
    };
    w.fn = fn;
    return this.on(ev, w);
  }
  off(ev, fn) {
    if (!this._ev) return this;
    if (ev === undefined) this._ev.clear();
    else if (fn === undefined) this._ev.delete(ev);
    else {
      const l = this._ev.get(ev);
      const i = l ? l.findIndex((x) => x === fn || x.fn === fn) : -1;
      if (i >= 0) l.splice(i, 1);
    }
    return this;
  }
  removeListener(ev, fn) {
    return this.off(ev, fn);
  }
  removeAllListeners(ev) {
    return this.off(ev);
  }
  removeEventListener(ev, fn) {
    return this.off(ev, fn);
  }
  listeners(ev) {
    return [...(this._ev?.get(ev) ?? [])];
  }
  hasListeners(ev) {
    return this.listeners(ev).length > 0;
  }
  emit(ev, ...args) {
    for (const fn of this.listeners(ev)) guard(fn, this, args);
    return this;
  }
  emitReserved(ev, ...args) {
    return Emitter.prototype.emit.call(this, ev, ...args);
  }
}

/** Calls fn; an exception is rethrown asynchronously (reported, not lost). */
export function guard(fn, self, args) {
  try {
    fn.apply(self, args);
  } catch (e) {
    setTimeout(() => {
      throw e;
    });
  }
}
