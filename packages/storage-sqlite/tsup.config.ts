import { preset } from "../../tooling/tsup.ts";

// The writer thread is an entry of its own: `new URL("./writer-worker.js", import.meta.url)`
// finds it beside index.js in dist, and in the packed package.
export default preset({ entry: ["src/index.ts", "src/writer-worker.ts"] });
