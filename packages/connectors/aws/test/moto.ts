/**
 * Starts a real `moto_server` (moto 5.2.1, an AWS API emulator; preinstalled in the pyenv Python,
 * see scripts/services/moto.sh) on a free loopback port for one test file, and stops it after.
 */
import { type ChildProcess, spawn } from "node:child_process";

export interface Moto {
  endpoint: string;
  close(): Promise<void>;
}

/** Spawns moto_server on port 0 and resolves once it says where it listens. */
export function startMoto(): Promise<Moto> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn("moto_server", ["-H", "127.0.0.1", "-p", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let seen = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`moto_server did not start within 60 s: ${seen.slice(-500)}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.removeAllListeners("data");
      child.stderr?.removeAllListeners("data");
      child.stdout?.resume();
      child.stderr?.resume();
      resolve({
        endpoint: match[1]!,
        close: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once("exit", () => done());
            child.kill("SIGTERM");
          }),
      });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(
        new Error(
          `moto_server could not be started (is moto 5.2.1 installed? see scripts/services/moto.sh): ${error.message}`,
        ),
      );
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`moto_server exited with ${code} before listening: ${seen.slice(-500)}`));
    });
  });
}
