import { preset } from "../../../tooling/tsup.ts";

export default preset();
