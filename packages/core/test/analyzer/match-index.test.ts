import { describe, expect, it } from "vitest";
import {
  type IndexablePlan,
  type MatchQuery,
  RunbookIndex,
  tokenize,
} from "../../src/analyzer/match-index.js";

function plan(
  title: string,
  match: NonNullable<IndexablePlan["metadata"]["match"]> = {},
  commands = ["true"],
  autoExecute?: boolean,
): IndexablePlan {
  return {
    title,
    metadata: { match, ...(autoExecute === undefined ? {} : { autoExecute }) },
    phases: { main: commands.map((command) => ({ name: command, command })) },
  };
}

const record = (id: number, status: "draft" | "approved" = "approved") => ({
  id,
  key: `k${id}`,
  revision: 1,
  title: `R${id}`,
  status,
});

const ticket = (over: Partial<MatchQuery> = {}): MatchQuery => ({
  title: "Disk full on build agent",
  description: "No space left on device (ENOSPC) writing to /tmp",
  service: "ci",
  environment: "dev",
  severity: "high",
  source: "datadog",
  ...over,
});

describe("RunbookIndex", () => {
  it("ranks the runbook with matching keywords first and explains why when several match", () => {
    const index = new RunbookIndex();
    index.upsert(
      record(1),
      plan(
        "Disk Space Cleanup",
        { services: ["ci"], keywords: ["disk full", "ENOSPC"], titlePattern: "[Dd]isk" },
        ["df -h /"],
      ),
    );
    index.upsert(record(2), plan("Restart build agent", {}, ["systemctl restart agent"]));
    const [best, second] = index.match(ticket());
    expect(best?.candidate.runbookId).toBe(1);
    expect(best?.candidate.reasons).toEqual(
      expect.arrayContaining([
        "keyword 'disk full' in title",
        "keyword 'enospc' in description",
        "title_pattern matched",
        "service=ci matched",
      ]),
    );
    expect(best!.candidate.score).toBeGreaterThan(second!.candidate.score);
    expect(best!.candidate.score).toBeLessThanOrEqual(1);
    expect(second!.candidate.score).toBeGreaterThan(0);
  });

  it("filters out a runbook scoped to other services, environments, severities or sources", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Disk cleanup", { services: ["nginx"] }));
    index.upsert(record(2), plan("Disk cleanup", { environments: ["prod"] }));
    index.upsert(record(3), plan("Disk cleanup", { severities: ["critical"] }));
    index.upsert(record(4), plan("Disk cleanup", { sources: ["zabbix"] }));
    index.upsert(record(5), plan("Disk cleanup", { services: ["CI"], environments: ["dev"] }));
    expect(index.match(ticket()).map((m) => m.candidate.runbookId)).toEqual([5]);
  });

  it("finds a runbook by a stemmed word when the ticket uses another form", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Fix Database Connection"));
    const [best] = index.match(ticket({ title: "Too many database connections", description: "" }));
    expect(best?.candidate.reasons[0]).toMatch(/^text: 2 of 3 title terms/);
  });

  it("returns nothing when no runbook shares a word with the ticket", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Renew TLS certificate"));
    expect(index.match(ticket({ title: "Printer offline", description: "paper jam" }))).toEqual([]);
  });

  it("carries auto_execute from the front matter when the runbook sets it", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Disk cleanup", {}, ["true"], false));
    expect(index.match(ticket())[0]?.autoExecute).toBe(false);
  });

  it("forgets a runbook when it is removed and updates status when it changes", () => {
    const index = new RunbookIndex();
    index.upsert(record(1, "draft"), plan("Disk cleanup"));
    index.setStatus(1, "approved");
    expect(index.match(ticket())[0]?.candidate.status).toBe("approved");
    index.remove(1);
    expect(index.match(ticket())).toEqual([]);
    expect(index.size).toBe(0);
  });

  it("reuses a removed runbook's slot without mixing the two when runbooks change", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Disk cleanup"));
    index.upsert(record(2), plan("Printer queue reset"));
    index.remove(1);
    index.upsert(record(3), plan("Certificate renewal"));
    expect(index.match(ticket())).toEqual([]);
    expect(
      index.match(ticket({ title: "Printer queue stuck", description: "" }))[0]?.candidate.runbookId,
    ).toBe(2);
    expect(
      index.match(ticket({ title: "Certificate expiring", description: "" }))[0]?.candidate.runbookId,
    ).toBe(3);
    index.upsert(record(2), plan("Disk cleanup"));
    expect(index.match(ticket()).map((m) => m.candidate.runbookId)).toEqual([2]);
  });

  it("reads only the first 4,000 characters of a huge description, patterns included", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Disk cleanup", { descriptionPattern: "ENOSPC" }));
    const near = index.match(ticket({ description: `${"disk ".repeat(100)}ENOSPC` }));
    expect(near[0]?.candidate.reasons).toContain("description_pattern matched");
    const far = index.match(ticket({ description: `${"disk ".repeat(10_000)}ENOSPC` }));
    expect(far[0]?.candidate.reasons).not.toContain("description_pattern matched");
  });

  it("finds the one relevant runbook among thousands when loaded (latency is in the bench)", () => {
    const index = new RunbookIndex();
    for (let i = 1; i <= 3_000; i++) {
      index.upsert(
        record(i),
        plan(`Runbook ${i} for service-${i % 97} widget${i}`, { services: [`svc${i % 50}`] }, [
          `fix-${i}.sh`,
        ]),
      );
    }
    index.upsert(record(5_000), plan("Disk Space Cleanup", { keywords: ["disk full"] }));
    expect(index.match(ticket())[0]?.candidate.runbookId).toBe(5_000);
  });

  it("matches an operations word such as 'down' as a keyword and as text", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Restart a failed service", { services: ["nginx"], keywords: ["down"] }));
    const [best] = index.match(ticket({ title: "nginx down on web-01", description: "", service: "nginx" }));
    expect(best?.candidate.reasons).toEqual(
      expect.arrayContaining(["keyword 'down' in title", "service=nginx matched"]),
    );
    expect(best!.candidate.score).toBeGreaterThan(0.5);
  });

  it("offers a runbook scoped to the ticket's service when they share no word, with a weak score", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Rotate logs", { services: ["billing"], keywords: ["logrotate"] }));
    index.upsert(record(2), plan("Rotate logs elsewhere", { services: ["other"] }));
    const matches = index.match(ticket({ title: "Invoices delayed", description: "", service: "billing" }));
    expect(matches.map((m) => m.candidate.runbookId)).toEqual([1]);
    expect(matches[0]!.candidate.reasons).toContain("service=billing matched");
    expect(matches[0]!.candidate.score).toBeLessThan(0.15);
  });

  it("scores a runbook without a match block on the subject its title names", () => {
    const index = new RunbookIndex();
    index.upsert(
      record(1),
      plan("Fix Database Connection", {}, ["check_db_status.sh", "restart_db_service.sh"]),
    );
    index.upsert(record(2), plan("Disk Space Cleanup", {}, ["df -h"]));
    const [best] = index.match(
      ticket({
        title: "Database connection timeout",
        description: "checkout-api cannot reach prod-db-01:5432; pool waited 30s for a connection",
        service: "database",
      }),
    );
    expect(best?.candidate.runbookId).toBe(1);
    expect(best?.candidate.reasons).toContain("title subject: 2 of 2 named (database, connection)");
    expect(best!.candidate.score).toBeGreaterThan(0.5);
  });

  it("does not take a subject word found only in the ticket's description as the subject named", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Fix Database Connection", {}, ["check_db_status.sh"]));
    const matches = index.match(
      ticket({
        title: "Conference room display not working",
        description: 'TV shows "No signal" when a laptop is connected over HDMI',
        service: "facilities",
      }),
    );
    for (const { candidate } of matches) {
      expect(candidate.reasons.some((r) => r.startsWith("title subject"))).toBe(false);
      expect(candidate.score).toBeLessThan(0.15);
    }
  });
});

describe("tokenize", () => {
  it("cuts ASCII text into the same words as the Unicode split that non-ASCII text takes", () => {
    // A one-letter non-ASCII word is dropped as too short, but sends the text down the Unicode split.
    const texts = [
      "Too many connections on db-prod-01: ORA-12541, 5xx!",
      "  Disk usage above 90% on /var (web-3.internal) -- growing 2GB/h\n\tno space left ",
      "a I x _ __init__ snake_case CamelCase e2e",
      "",
    ];
    for (const text of texts) expect(tokenize(text)).toEqual(tokenize(`${text} é`));
    expect(tokenize("Too many connections")).toEqual(["mani", "connect"]);
    expect(tokenize("Zugriff für Benutzer")).toEqual(["zugriff", "für", "benutz"]);
  });
});

describe("RunbookIndex safe matching", () => {
  const pgRestart = () =>
    plan("Restart database", {}, ["systemctl restart postgresql", "pg_isready -h localhost"]);
  const dbTicket = (engine: string) =>
    ticket({
      title: `${engine} database down`,
      description: `${engine} refuses connections; restart the database`,
      service: "orders",
      environment: "prod",
    });

  it("vetoes a runbook about PostgreSQL for a MySQL ticket and names both in the reason", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), pgRestart());
    const [best] = index.match(dbTicket("MySQL"));
    expect(best?.veto).toBe(
      "not run automatically: the ticket names MySQL but the runbook is about PostgreSQL",
    );
    expect(best?.candidate.reasons).toContain(best?.veto);
  });

  it("lets a runbook without front matter run when its steps name the technology the ticket names", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), pgRestart());
    const [best] = index.match(dbTicket("PostgreSQL"));
    expect(best?.candidate.runbookId).toBe(1);
    expect(best?.veto).toBeUndefined();
  });

  it("vetoes a runbook without front matter that names no technology, whatever the ticket says", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Restart database", {}, ["restart_db_service.sh"]));
    const [best] = index.match(dbTicket("PostgreSQL"));
    expect(best?.veto).toMatch(/no match block .* names no technology/);
  });

  it("ranks the runbook of the ticket's technology above its near-duplicate for another one", () => {
    const index = new RunbookIndex();
    const web = (name: string, cmd: string) =>
      plan(`Restart ${name} web server`, { keywords: ["web server down", "502"] }, [cmd]);
    index.upsert(record(1), web("Nginx", "systemctl restart nginx"));
    index.upsert(record(2), web("Apache", "systemctl restart apache2"));
    const matches = index.match(
      ticket({ title: "Web server down on web-03", description: "httpd returns 502", service: "www" }),
    );
    expect(matches.map((m) => m.candidate.runbookId)).toEqual([2, 1]);
    expect(matches[0]?.veto).toBeUndefined();
    expect(matches[1]?.veto).toMatch(/names Apache httpd but the runbook is about Nginx/);
  });

  it("tells a Kubernetes volume from the node's disk, and reads technologies from labels", () => {
    const index = new RunbookIndex();
    index.upsert(
      record(1),
      plan("Disk space cleanup", { keywords: ["disk full", "disk usage"] }, ["df -h /"]),
    );
    const pvc = index.match(
      ticket({
        title: "Disk usage above 95%",
        description: "",
        labels: ["persistentvolumeclaim data-kafka-0"],
      }),
    );
    expect(pvc[0]?.veto).toMatch(/names Kubernetes volume but the runbook is about node disk/);
    const node = index.match(ticket({ title: "Disk usage above 95%", description: "" }));
    expect(node[0]?.veto).toBeUndefined();
  });
});

describe("RunbookIndex product evidence", () => {
  it("vetoes a runbook about a product the ticket does not name, such as Apache httpd for Apache Kafka", () => {
    const index = new RunbookIndex();
    index.upsert(
      record(1),
      plan("Restart Apache", { keywords: ["apache", "web server down"] }, ["systemctl restart apache2"]),
    );
    const [best] = index.match(ticket({ title: "Apache Kafka consumer lag rising", description: "" }));
    expect(best?.candidate.runbookId).toBe(1);
    expect(best?.veto).toBe(
      "not run automatically: the runbook is about Apache httpd and the ticket does not name it",
    );
  });

  it("takes a technology named by the ticket's labels as named by the ticket", () => {
    const index = new RunbookIndex();
    index.upsert(
      record(1),
      plan("Restart PostgreSQL", { keywords: ["database down"] }, ["systemctl restart postgresql"]),
    );
    const bare = index.match(ticket({ title: "Database down", description: "" }));
    expect(bare[0]?.veto).toMatch(/about PostgreSQL and the ticket does not name it/);
    const labelled = index.match(ticket({ title: "Database down", description: "", labels: ["postgresql"] }));
    expect(labelled[0]?.veto).toBeUndefined();
  });
});

describe("RunbookIndex product evidence from steps", () => {
  it("does not veto a worker runbook whose precheck reads PostgreSQL for a ticket that does not name it", () => {
    const index = new RunbookIndex();
    index.upsert(
      record(1),
      plan("Restart a stalled queue worker", { keywords: ["queue stalled"] }, [
        "psql -c 'select depth from queue_depth'",
        "echo restart {{ticket.service}}",
      ]),
    );
    const [best] = index.match(ticket({ title: "billing-worker queue stalled", description: "" }));
    expect(best?.candidate.runbookId).toBe(1);
    expect(best?.veto).toBeUndefined();
  });
});
