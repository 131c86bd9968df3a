import { preset } from "../../tooling/tsup.ts";

export default preset({ entry: ["src/index.ts", "src/main.ts"] });
