// Starting and stopping the servers the SDK tests run against: the Go e2e
// app (SDK_GO_SERVER, a built tests/e2e/cmd/e2e-server) or Node's
// socket.io 4.8.4 app (tests/e2e/node-app.mjs), chosen by SDK_SERVER.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

function command() {
  const which = process.env.SDK_SERVER ?? "go";
  if (which === "node") return [process.execPath, ["tests/e2e/node-app.mjs"]];
  if (which === "go") {
    const bin = process.env.SDK_GO_SERVER;
    if (!bin) throw new Error("SDK_GO_SERVER must name a built e2e-server (go build ./tests/e2e/cmd/e2e-server)");
    return [bin, []];
  }
  throw new Error(`SDK_SERVER must be go or node, not ${which}`);
}

/** Starts the app on port (0: any) with env; resolves {port, stop()} once it listens (10 s bound). */
export function startServer(port = 0, env = {}) {
  const [cmd, args] = command();
  const p = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env, PORT: String(port) }, stdio: ["ignore", "pipe", "inherit"] });
  let exited = false;
  const gone = new Promise((resolve) => p.on("exit", () => ((exited = true), resolve())));
  const stop = async () => {
    if (!exited) p.kill("SIGKILL");
    await gone;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (stop(), reject(new Error(`${cmd} did not listen within 10 s`))), 10000);
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
      const m = /^listening (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), stop });
      }
    });
    p.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited (${code}) before listening`));
    });
  });
}

/** Starts the app on a port that was just freed (retrying for up to 5 s). */
export async function restartServer(port, env = {}) {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await startServer(port, env);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
