import { describe, expect, it } from "vitest";
import { categorize } from "../../src/analyzer/categorize.js";

describe("categorize", () => {
  it.each([
    ["Database connection timeout", "Unable to connect to PostgreSQL", "database"],
    ["Root filesystem 99% full on db-prod-02", "WAL archive filling /", "disk"],
    ["High CPU usage on api-prod-02", "CPU at 97%, HTTP 503 rate 3%", "cpu"],
    ["OOM kill on api container", "Kernel OOM killer terminated node", "memory"],
    ["TLS certificate expiring in 7 days", "served by nginx", "certificate"],
    ["Packet loss between racks", "ping shows 20% loss", "network"],
    ["VPN account locked", "User locked out after three failed logins", "security"],
    ["Background worker not processing jobs", "queue depth rising", "application"],
    ["Printer on floor 3 offline", "paper tray jammed", "other"],
  ])("files %j as %s", (title, description, category) => {
    expect(categorize(title, description).category).toBe(category);
  });

  it("gives its reasons when a keyword matched", () => {
    const result = categorize("Disk full on build agent", "No space left on device", ["ENOSPC"]);
    expect(result.reasons).toEqual([
      "keyword 'disk' in title",
      "keyword 'no space left' in description",
      "error code ENOSPC",
    ]);
  });

  it("ignores words inside host names when they look like keywords", () => {
    expect(categorize("Host db-prod-02 unreachable", "").category).toBe("network");
  });
});
