import { describe, expect, it } from "vitest";
import { MetricsRegistry } from "../../src/internal/metrics.js";

describe("MetricsRegistry", () => {
  it("renders counters, histograms and gauges in the Prometheus text format", async () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter("rw_requests_total", "Requests");
    counter.inc({ route: "/tickets", status: "200" });
    counter.inc({ route: "/tickets", status: "200" });
    counter.inc({ route: 'a"b\\c\nd', status: "500" });
    const histogram = registry.histogram("rw_seconds", "Latency", [0.1, 1]);
    histogram.observe({ route: "/x" }, 0.05);
    histogram.observe({ route: "/x" }, 0.5);
    registry.gauge({ name: "rw_open", help: "Open", collect: () => [{ value: 3 }] });
    registry.gauge({
      name: "rw_broken",
      help: "Broken",
      collect: () => {
        throw new Error("store down");
      },
    });
    const text = await registry.render();
    expect(text).toContain("# TYPE rw_requests_total counter");
    expect(text).toContain('rw_requests_total{route="/tickets",status="200"} 2');
    expect(text).toContain('rw_requests_total{route="a\\"b\\\\c\\nd",status="500"} 1');
    expect(text).toContain('rw_seconds_bucket{route="/x",le="0.1"} 1');
    expect(text).toContain('rw_seconds_bucket{route="/x",le="1"} 2');
    expect(text).toContain('rw_seconds_bucket{route="/x",le="+Inf"} 2');
    expect(text).toContain('rw_seconds_count{route="/x"} 2');
    expect(text).toContain("rw_open 3");
    expect(text).not.toContain("rw_broken");
    expect(text.endsWith("\n")).toBe(true);
  });
});
