// socketcore's Socket.IO client: the socket.io-client API, with the protocol
// run by core.wasm's client role.
export { io, io as default, connect, Manager, Socket, protocol } from "./client.js";
export { compile as loadCore } from "./core.js";
