import { preset } from "../../tooling/tsup.ts";

export default preset({ entry: ["src/main.ts", "src/admin-token.ts"], dts: false });
