// What the scenario scripts driving the official socket.io-client share
// (tests/limits, tests/events, tests/compression: each run by its Go test as
// `node official.mjs ARGS...`, printing one JSON line with what it saw).

// WAIT bounds every single wait of a scenario.
export const WAIT = 10000;

// once resolves with the arguments of emitter's next event, or rejects after
// WAIT.
export function once(emitter, event) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), WAIT);
    emitter.once(event, (...args) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}

// connected resolves when socket connects, and throws its connect_error.
export async function connected(socket) {
  const [err] = await Promise.race([once(socket, "connect"), once(socket, "connect_error")]);
  if (err) throw new Error(`connect_error: ${err.message}`);
}
