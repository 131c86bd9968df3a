import { preset } from "../../tooling/tsup.ts";

// The analysis worker thread is an entry of its own: analyzer/pool.ts finds
// `analysis-worker.js` beside the bundle in dist, and in the packed package.
export default preset({ entry: { index: "src/index.ts", "analysis-worker": "src/analyzer/worker.ts" } });
