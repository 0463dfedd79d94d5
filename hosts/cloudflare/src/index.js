// The deployable Worker: the e2e test application (src/app.js) behind the
// socketcore Durable Object. An application of your own replaces setupApp.
import coreWasm from "../../../build/core.wasm";
import { socketIOObject, worker } from "./do.js";
import { setupApp } from "./app.js";

export const SocketIO = socketIOObject(coreWasm, setupApp);
export default worker("SOCKETIO");
