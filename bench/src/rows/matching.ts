import { createEngine, type MatchQuery } from "@runwarden/core";
import { runMatchingEval } from "../../../packages/core/test/fixtures/matching-eval/evaluate.js";
import { benchServices, generateRunbook, runbookSubject, subjectTitle } from "../generate.js";
import { generateTicket } from "../generate-tickets.js";
import { type BenchRow, defineRows, percentile, pick, seededRandom } from "../harness.js";

/**
 * Per-ticket match latency with 10,000 runbooks loaded (goal: p99 < 1 ms), against the naive
 * approach on the same runbooks and tickets: scanning every runbook for the ticket's words. Fast
 * is not enough: the row is met only if the same matcher also passes the labelled evaluation
 * (packages/core/test/fixtures/matching-eval: no wrong auto-execution, recall@3 >= 0.9).
 */
export default defineRows("Runbook matching", async ({ quick }) => {
  const runbookCount = 10_000;
  const ticketCount = quick ? 2_000 : 10_000;
  const rand = seededRandom(0x4d415443);
  const engine = await createEngine();
  const admin = { id: "bench", roles: ["admin" as const] };
  const texts: string[] = [];
  for (let i = 0; i < runbookCount; i++) {
    const markdown = generateRunbook(rand, i);
    const { plan } = await engine.runbooks.create(markdown, { actor: admin, useFrontMatterStatus: true });
    texts.push(
      [
        plan.title,
        plan.description ?? "",
        ...Object.values(plan.phases).flatMap((steps) => steps.map((s) => s.command)),
      ]
        .join(" ")
        .toLowerCase(),
    );
  }
  // Half the tickets are the intake generator's; half are alerts about the library's own
  // services and technologies, as a monitoring tool would write them.
  const tickets: MatchQuery[] = Array.from({ length: ticketCount }, (_, i) => {
    if (i % 2 === 0) {
      const t = generateTicket(rand, i);
      return { ...t, severity: t.severity as MatchQuery["severity"] };
    }
    const subject = runbookSubject(rand, i);
    const service = subject.service ?? pick(rand, benchServices);
    const host = `${service}-${String(1 + (i % 40)).padStart(2, "0")}`;
    return {
      title: `${subjectTitle(rand, subject)} on ${host}`,
      description: `${subjectTitle(rand, subject)}: ${service} on ${host}.internal (10.0.${i % 255}.${1 + (i % 250)}) for ${i % 60} minutes`,
      service,
      environment: pick(rand, ["prod", "staging", "dev"]),
      severity: pick(rand, ["critical", "high", "medium"] as const),
      source: "prometheus",
    };
  });

  await engine.runbooks.match(tickets[0]!); // builds nothing new: the index is kept as runbooks are created
  for (const t of tickets.slice(0, 200)) await engine.runbooks.match(t);
  const ours: number[] = [];
  let candidates = 0;
  for (const t of tickets) {
    const start = performance.now();
    const matches = await engine.runbooks.match(t);
    ours.push(performance.now() - start);
    candidates += matches.length;
  }

  const scanTickets = tickets.slice(0, quick ? 200 : 500);
  const scan: number[] = [];
  for (const t of scanTickets) {
    const terms = `${t.title} ${t.description}`
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 2);
    const start = performance.now();
    let hits = 0;
    for (const text of texts) if (terms.some((w) => text.includes(w))) hits++;
    scan.push(performance.now() - start);
    if (hits < 0) throw new Error("unreachable");
  }
  await engine.close();

  const labelled = await runMatchingEval();
  const right = labelled.wrongAutoExecutions === 0 && labelled.recallAt3 >= 0.9;

  const p50 = percentile(ours, 50);
  const p99 = percentile(ours, 99);
  const scanP99 = percentile(scan, 99);
  const row: BenchRow = {
    name: `match p99, ${runbookCount.toLocaleString("en-US")} runbooks`,
    unit: "ms",
    value: p99,
    baseline: scanP99,
    ratio: p99 / scanP99,
    goal: "p99 < 1 ms, labelled eval right",
    met: p99 < 1 && right,
    note: `labelled eval (${labelled.tickets} tickets): ${labelled.wrongAutoExecutions} wrong auto-executions, recall@3 ${labelled.recallAt3}; p50 ${p50.toFixed(3)} ms; naive scan p99 ${scanP99.toFixed(2)} ms; ${(candidates / tickets.length).toFixed(1)} candidates/ticket over ${ticketCount} tickets`,
  };
  return [row];
});
