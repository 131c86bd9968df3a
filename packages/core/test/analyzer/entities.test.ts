import { describe, expect, it } from "vitest";
import { extractEntities } from "../../src/analyzer/entities.js";

describe("extractEntities", () => {
  it("finds hosts, IPs, services and error codes when a description names them", () => {
    const e = extractEntities(
      "PostgreSQL connection pool exhausted\nConnection timeout to db-prod-01.internal (10.0.1.21:5432) after 30s; api-gateway logs show ECONNREFUSED",
      "database",
    );
    expect(e.hosts).toEqual(["db-prod-01.internal"]);
    expect(e.ips).toEqual(["10.0.1.21"]);
    expect(e.services).toEqual(expect.arrayContaining(["database", "postgresql"]));
    expect(e.errorCodes).toEqual(["ECONNREFUSED"]);
  });

  it("recognises Oracle, HTTP, MySQL, exit and Java error codes when present", () => {
    const e = extractEntities(
      "ORA-12541 then TNS-12170; HTTP 503 and statuscode: 502; ERROR 1040 (08004) Too many connections; " +
        "worker.service exited with code 137; java.lang.OutOfMemoryError: Java heap space; NET::ERR_CERT_DATE_INVALID",
    );
    expect(e.errorCodes).toEqual([
      "ORA-12541",
      "TNS-12170",
      "HTTP 503",
      "HTTP 502",
      "ERROR 1040",
      "exit 137",
      "java.lang.OutOfMemoryError",
      "ERR_CERT_DATE_INVALID",
    ]);
    expect(e.services).toContain("worker");
  });

  it("finds IPv6 addresses and URLs, and ignores times and versions when they look alike", () => {
    const e = extractEntities(
      "probe https://grafana.internal/api/health, from fe80::1%eth0 and 2001:db8::42 at 10:30:00 on v2.14.1",
    );
    expect(e.urls).toEqual(["https://grafana.internal/api/health"]);
    expect(e.ips).toEqual(["fe80::1%eth0", "2001:db8::42"]);
    expect(e.hosts).toEqual([]);
  });

  it("does not read file names or Java packages as hosts when they contain dots", () => {
    const e = extractEntities("check_db_status.sh failed; java.lang.OutOfMemoryError; see nginx.service");
    expect(e.hosts).toEqual([]);
    expect(e.services).toContain("nginx");
  });

  it("caps what it extracts when the text is huge and hostile (a backtracking regex would time the test out)", () => {
    const text = `${"a.".repeat(50_000)}com ${"1.".repeat(40_000)}`;
    const e = extractEntities(text);
    expect(e.hosts.length).toBeLessThanOrEqual(20);
  });
});
