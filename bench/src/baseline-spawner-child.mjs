// The baseline spawner's process (see baseline-spawner.ts): plain JavaScript, only
// node:child_process, so it is as small as the engine's spawn helper. One message per command;
// the answer comes once the command has exited and its pipes are closed.
import { spawn } from "node:child_process";

process.on("message", ({ id }) => {
  const child = spawn("/bin/sh", ["-c", "true"], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", () => {});
  child.stderr.on("data", () => {});
  child.on("error", (err) => process.send({ id, error: err.message }));
  child.on("close", () => process.send({ id }));
});
process.on("disconnect", () => process.exit(0));
process.send({ ready: true });
