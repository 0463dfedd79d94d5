// The official socket.io-client against a server with native.EventRules:
// what a client written for Node's server sees of an allowlist and of size
// bounds. Run by events_test.go as `node official.mjs URL`; it prints one
// JSON line with what it saw, or exits non-zero.
import { io } from "socket.io-client";
import { WAIT, once, connected } from "../lib/official.mjs";

const [url] = process.argv.slice(2);

const ask = (socket, ...args) => socket.timeout(WAIT).emitWithAck(...args);

// "/": chat, ping and up allowed, chat up to 40 bytes (["chat","..."]: 29
// characters of text), up to 46 (its placeholder and 10 bytes), error-ack.
const root = io(url, { transports: ["websocket"] });
await connected(root);
const seen = {
  chatAtLimit: await ask(root, "chat", "x".repeat(29)),
  chatOver: await ask(root, "chat", "x".repeat(30)),
  notAllowed: await ask(root, "secret"),
  upAtLimit: await ask(root, "up", Buffer.alloc(10)),
  upOver: await ask(root, "up", Buffer.alloc(11)),
};
root.emit("secret"); // no ack: dropped
seen.pingAfter = await ask(root, "ping", 7);

// "/free": no rules, any event.
const free = io(url + "/free", { transports: ["websocket"] });
await connected(free);
seen.free = await ask(free, "secret");

// "/strict": chat only, disconnect.
const strict = io(url + "/strict", { transports: ["websocket"] });
await connected(strict);
const left = once(strict, "disconnect");
strict.emit("secret");
[seen.strictReason] = await left;
seen.stillServed = await ask(root, "ping", 8);
root.io.engine.close();
console.log(JSON.stringify(seen));
process.exit(0);
