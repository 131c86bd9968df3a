/**
 * Pins the analyzer's full output on a few thousand seeded, realistic tickets: a sha256 over every
 * outcome (normalized ticket, fingerprint, category, entities, candidates with scores and reasons,
 * decision, trace notes). Speed work on the analyzer (tokenizing, matching, entity regexes) must
 * leave it unchanged; a change of behaviour on purpose updates the digest in the same commit and
 * says why.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateRunbook, runbookSubject, subjectTitle } from "../../../../bench/src/generate.js";
import { generateTicket } from "../../../../bench/src/generate-tickets.js";
import { pick, seededRandom } from "../../../../bench/src/harness.js";
import { categorize } from "../../src/analyzer/categorize.js";
import { extractEntities, maskHosts } from "../../src/analyzer/entities.js";
import { createAnalyzer } from "../../src/analyzer/index.js";
import { tokenize } from "../../src/analyzer/match-index.js";
import type { AnalysisSubject } from "../../src/analyzer/stage.js";
import { technologyMask } from "../../src/analyzer/technologies.js";
import type { TicketSeverity } from "../../src/domain.js";
import { evalRunbooks } from "../fixtures/matching-eval/runbooks.js";
import { evalTickets } from "../fixtures/matching-eval/tickets.js";
import { admin, loadSampleRunbooks, makeIntake } from "../support/engine-context.js";

/** Text that takes the analyzer's other paths: non-ASCII words, odd spacing and case, long text. */
const variants: readonly ((t: AnalysisSubject, i: number) => AnalysisSubject)[] = [
  (t) => t,
  (t) => ({ ...t, title: `  ${t.title.toUpperCase()}\t\t`, description: ` ${t.description}\n\n` }),
  (t) => ({
    ...t,
    title: `${t.title} — Fehler während Überprüfung`,
    description: `Ошибка: ${t.description} 数据库`,
  }),
  (t) => ({ ...t, description: `${t.description} `.repeat(120) }),
  (t) => ({ ...t, description: "" }),
  (t, i) => ({
    ...t,
    sourceFingerprint: `fp-${i % 97}`,
    externalId: `ext-${i}`,
    metaData: {
      labels: {
        alertname: t.title.split(" ")[0],
        instance: `host-${i % 13}:9100`,
        persistentvolumeclaim: "data-0",
      },
      tags: ["team:db", "env:prod", i % 2 === 0 ? "mysql" : "kafka"],
      connection_config: { host: "postgres.internal" },
    },
  }),
  (t) => ({
    ...t,
    service: ` ${t.service.toUpperCase()} `,
    environment: "Production",
    severity: "P2" as TicketSeverity,
  }),
  (t) => ({
    ...t,
    title: `${t.title} (https://grafana.example.com/d/x?var-host=db-prod-01) ORA-12541 HTTP/1.1 503`,
    description: `${t.description}; see fe80::1%eth0 and 2001:db8::42, exit code 137, SQLSTATE[08006], ERROR 1045 (28000), ERR_CERT_DATE_INVALID, org.postgresql.util.PSQLException, nginx.service, billing-worker`,
  }),
];

function subjects(): AnalysisSubject[] {
  const rand = seededRandom(0x44494745);
  const out: AnalysisSubject[] = [];
  const base = (t: Omit<AnalysisSubject, "externalId" | "sourceFingerprint" | "metaData">) => ({
    ...t,
    externalId: null,
    sourceFingerprint: null,
    metaData: {},
  });
  for (let i = 0; i < 1_600; i++) {
    const t = generateTicket(rand, i);
    out.push(base({ ...t, severity: t.severity as TicketSeverity }));
  }
  // Alerts about the generated library's own services and technologies (the matching bench's half).
  for (let i = 0; i < 1_600; i++) {
    const subject = runbookSubject(rand, i);
    const service = subject.service ?? `svc-${i % 7}`;
    const host = `${service}-${String(1 + (i % 40)).padStart(2, "0")}`;
    out.push(
      base({
        title: `${subjectTitle(rand, subject)} on ${host}`,
        description: `${subjectTitle(rand, subject)}: ${service} on ${host}.internal (10.0.${i % 255}.${1 + (i % 250)}) for ${i % 60} minutes`,
        service,
        environment: pick(rand, ["prod", "staging", "dev", ""]),
        severity: pick(rand, ["critical", "high", "medium", "low"] as const),
        source: pick(rand, ["prometheus", "datadog", ""]),
      }),
    );
  }
  for (const ticket of evalTickets()) out.push(ticket.subject);
  return out.map((t, i) => (variants[i % variants.length] as (typeof variants)[number])(t, i));
}

describe("the analyzer's output on seeded tickets", () => {
  it("is the same, digest for digest, for every ticket of the seeded corpus and its text variants", async () => {
    const { ctx, runbooks } = await makeIntake();
    await loadSampleRunbooks(runbooks);
    for (const { markdown } of evalRunbooks) await runbooks.create(markdown, { actor: admin });
    const rand = seededRandom(0x52554e42);
    for (let i = 0; i < 1_500; i++)
      await runbooks.create(generateRunbook(rand, i), { actor: admin, useFrontMatterStatus: true });
    const analyzer = createAnalyzer(ctx, { runbooks });

    const all = subjects();
    const hash = createHash("sha256");
    const parts = createHash("sha256");
    let candidates = 0;
    let autoExecutions = 0;
    for (const subject of all) {
      const identity = analyzer.identify(subject);
      const outcome = await analyzer.analyze(subject);
      // As intake calls it: identified first, then analyzed with what is known.
      const known = await analyzer.analyze(identity.ticket, {
        fingerprint: identity.fingerprint,
        normalizeNotes: identity.normalizeNotes,
      });
      hash.update(JSON.stringify([identity, outcome, known.analysis.candidates, known.analysis.trace]));
      candidates += outcome.analysis.candidates.length;
      if (outcome.analysis.decision.action === "auto_execute") autoExecutions++;
      const text = `${subject.title}\n${subject.description}`;
      parts.update(
        JSON.stringify([
          tokenize(text),
          extractEntities(text, subject.service),
          maskHosts(text),
          categorize(subject.title, subject.description, ["ECONNREFUSED", "HTTP 503"]),
          technologyMask([subject.title, subject.description]),
        ]),
      );
    }
    // The corpus exercises matching, not only its absence.
    expect(all.length).toBeGreaterThan(3_000);
    expect(candidates / all.length).toBeGreaterThan(1);
    expect(autoExecutions).toBeGreaterThan(50);
    expect({ analyses: hash.digest("hex"), parts: parts.digest("hex") }).toEqual({
      analyses: "87d56e023ba33e6ee206d2fd22551704d9042110121ee1c39037a46d5e55712e",
      parts: "57a06b29bcf8909a254138a6480743bf4293c3f98f260efded8d81d7c3358714",
    });
  }, 120_000);
});
