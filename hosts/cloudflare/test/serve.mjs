// Runs the Worker in miniflare and prints "listening <port>" (tests/e2e/APP.md
// process contract) until SIGTERM/SIGINT. PORT is ignored (a free port).
// Vars come from the environment: SIO_RECOVERY_MS, PING_INTERVAL_MS, ...
import { start, APP_VARS } from "./mf.mjs";

const vars = { ...APP_VARS };
for (const k of ["PING_INTERVAL_MS", "PING_TIMEOUT_MS", "SHARDS", "RECOVERY_STORE", "RECOVERY_MAX_PACKETS", "RECOVERY_MAX_BYTES"]) if (process.env[k]) vars[k] = process.env[k];
if (process.env.SIO_RECOVERY_MS) vars.RECOVERY_MS = process.env.SIO_RECOVERY_MS;
const { url, mf } = await start(vars);
process.stdout.write(`listening ${new URL(url).port}\n`);
const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
