import { defineConfig, type Options } from "tsup";

/** The one build preset every package uses: ESM + .d.ts from src/index.ts, for Node 20. */
export function preset(overrides: Options = {}) {
  return defineConfig({
    entry: ["src/index.ts"],
    format: ["esm"],
    target: "node20",
    platform: "node",
    sourcemap: true,
    clean: true,
    // Declarations are built against the dependencies' published dist, not their sources.
    dts: { compilerOptions: { customConditions: [], noEmit: false } },
    ...overrides,
  });
}
