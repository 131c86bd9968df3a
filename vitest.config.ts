import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

// Tests import workspace packages from their sources, so no build is needed to test a change.
const root = import.meta.dirname;
const alias: Record<string, string> = {};
for (const dir of ["packages", "packages/connectors", "examples/custom-connector"]) {
  for (const name of dir.startsWith("examples/") ? ["."] : readdirSync(join(root, dir))) {
    const manifest = join(root, dir, name, "package.json");
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { name: string };
    alias[pkg.name] = join(root, dir, name, "src", "index.ts");
  }
}

export default defineConfig({
  resolve: { alias },
  test: {
    // Off by default (targeted runs stay fast); scripts/test.mjs turns it on and prints a
    // per-package summary from coverage/coverage-summary.json.
    coverage: {
      provider: "v8",
      include: ["packages/**/src/**/*.ts"],
      exclude: ["**/dist/**", "**/node_modules/**"],
      reporter: ["json-summary"],
      reportsDirectory: join(root, "coverage"),
    },
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: [
            "packages/**/test/**/*.test.ts",
            "examples/**/test/**/*.test.ts",
            "bench/test/**/*.test.ts",
          ],
          exclude: ["**/node_modules/**", "**/*.int.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: "int",
          include: ["**/*.int.test.ts", "test/e2e/**/*.test.ts"],
          exclude: ["**/node_modules/**"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
