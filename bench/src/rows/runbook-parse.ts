import { parseRunbook } from "@runwarden/runbook-parser";
import { remark } from "remark";
import remarkFrontmatter from "remark-frontmatter";
import { generateRunbook } from "../generate.js";
import {
  defineRows,
  type Interleaved,
  interleavedRow,
  median,
  percentile,
  seededRandom,
} from "../harness.js";

/**
 * Row 1: runbooks parsed per second by parseRunbook, against remark's own parse (with front
 * matter) of the same documents: the Markdown parse dominates, so our work on the tree must stay
 * small (goal >= 0.8). Loading stored runbooks is cached-load.ts.
 */
export default defineRows("Runbook parse", async ({ quick }) => {
  const rand = seededRandom(0x52554e42);
  const count = quick ? 1_000 : 2_000;
  const corpus = Array.from({ length: count }, (_, i) => generateRunbook(rand, i));
  const invalid = corpus.filter((md) => parseRunbook(md).runbook === undefined).length;
  if (invalid > 0) throw new Error(`runbook-parse bench: ${invalid} generated runbooks do not parse`);
  const lines = median(corpus.map((md) => md.split("\n").length));

  const processor = remark().use(remarkFrontmatter, ["yaml"]).freeze();
  const repeats = quick ? 5 : 9;
  let sink = 0;
  const parseOurs = (docs: readonly string[]) => {
    for (const md of docs) sink += parseRunbook(md).diagnostics.length;
  };
  const parseRemark = (docs: readonly string[]) => {
    for (const md of docs) sink += processor.parse(md).children.length;
  };
  parseOurs(corpus);
  parseRemark(corpus);
  // Both sides are timed on the same small chunks, alternately and in alternating order, so a
  // noisy neighbour or a GC pause lands on both alike; each repeat sums the chunks.
  const chunk = 25;
  const ours: number[] = [];
  const baseline: number[] = [];
  for (let r = 0; r < repeats; r++) {
    let oursMs = 0;
    let remarkMs = 0;
    for (let c = 0; c < count; c += chunk) {
      const docs = corpus.slice(c, c + chunk);
      const oursFirst = (c / chunk + r) % 2 === 0;
      for (const side of oursFirst ? [0, 1] : [1, 0]) {
        const start = performance.now();
        if (side === 0) parseOurs(docs);
        else parseRemark(docs);
        const elapsed = performance.now() - start;
        if (side === 0) oursMs += elapsed;
        else remarkMs += elapsed;
      }
    }
    ours.push(oursMs);
    baseline.push(remarkMs);
  }
  // Each repeat's ratio (the sides summed over the same chunks), then the median of the ratios.
  const result: Interleaved = {
    ours,
    baseline,
    ratios: ours.map((x, i) => x / baseline[i]!),
    ratio: median(ours.map((x, i) => x / baseline[i]!)),
    spread: [
      percentile(
        ours.map((x, i) => x / baseline[i]!),
        25,
      ),
      percentile(
        ours.map((x, i) => x / baseline[i]!),
        75,
      ),
    ],
  };

  if (sink < 0) throw new Error("unreachable");

  return [
    interleavedRow("throughput", "parseRunbook vs remark parse alone", "runbooks/s", result, 0.8, {
      perRound: count,
      note: `${count} generated runbooks, median ${lines} lines each`,
    }),
  ];
});
