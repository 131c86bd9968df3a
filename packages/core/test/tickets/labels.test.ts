import { describe, expect, it } from "vitest";
import { extractStage } from "../../src/analyzer/entities.js";
import {
  entitiesFromLabels,
  hostOfAddress,
  isExporterJob,
  labelsOfMetaData,
  serviceFromLabels,
  severityFromLabels,
  tagsToLabels,
} from "../../src/tickets/labels.js";
import { makeIntake } from "../support/engine-context.js";

describe("severityFromLabels", () => {
  it("does not stop at the first label: severity=disaster with priority=P2 is critical", () => {
    expect(severityFromLabels({ severity: "disaster", priority: "P2" })).toEqual({
      severity: "critical",
      label: "severity",
      value: "disaster",
    });
  });

  it("skips an unknown severity and takes the next label that is known, reporting the unknown one", () => {
    const unknown: { label: string; value: string }[] = [];
    expect(severityFromLabels({ severity: "apocalyptic", priority: "P2" }, { unknown })?.severity).toBe(
      "high",
    );
    expect(unknown).toEqual([{ label: "severity", value: "apocalyptic" }]);
    expect(severityFromLabels({ severity: "bogus", level: "error" })?.severity).toBe("high");
  });

  it("maps Zabbix's scale, P1…P5 and critical/error/warning/info", () => {
    const zabbix = ["not classified", "information", "warning", "average", "high", "disaster"].map(
      (value) => severityFromLabels({ severity: value })?.severity,
    );
    expect(zabbix).toEqual(["info", "info", "medium", "medium", "high", "critical"]);
    const p = ["P1", "P2", "P3", "P4", "P5"].map(
      (value) => severityFromLabels({ priority: value })?.severity,
    );
    expect(p).toEqual(["critical", "high", "medium", "low", "info"]);
    const words = ["critical", "error", "warning", "info"].map(
      (v) => severityFromLabels({ level: v })?.severity,
    );
    expect(words).toEqual(["critical", "high", "medium", "info"]);
  });

  it("reads keys case-insensitively and prefers a connector's own spellings", () => {
    expect(severityFromLabels({ Severity: "Disaster" })?.severity).toBe("critical");
    expect(severityFromLabels({ severity: "page" }, { extra: { page: "critical" } })?.severity).toBe(
      "critical",
    );
    expect(severityFromLabels({ alertname: "X" })).toBeUndefined();
  });
});

describe("serviceFromLabels", () => {
  it("prefers service, app, app.kubernetes.io/name and container over the exporter's job", () => {
    expect(serviceFromLabels({ job: "node", service: "checkout" })).toBe("checkout");
    expect(serviceFromLabels({ job: "kube-state-metrics", "app.kubernetes.io/name": "payments" })).toBe(
      "payments",
    );
    expect(serviceFromLabels({ job: "kube-state-metrics", container: "api" })).toBe("api");
    expect(serviceFromLabels({ job: "blackbox", app: "shop" })).toBe("shop");
  });

  it("never takes an exporter's job for a service, but keeps a job that names one", () => {
    for (const job of ["node", "kube-state-metrics", "blackbox", "mysqld-exporter", "node_exporter"]) {
      expect(isExporterJob(job), job).toBe(true);
      expect(serviceFromLabels({ job }), job).toBeUndefined();
    }
    expect(serviceFromLabels({ job: "checkout-api" })).toBe("checkout-api");
    expect(serviceFromLabels({ job: "prometheus" })).toBe("prometheus");
  });
});

describe("entitiesFromLabels", () => {
  it("strips ports, recognises IPs and reads instance/host/hostname/node/pod/ip", () => {
    expect(
      entitiesFromLabels({
        instance: "web-01:9100",
        host: "db.example.com",
        node: "ip-10-0-1-5.ec2.internal",
        pod: "api-7d9f8-abcde",
        ip: "10.0.0.7",
      }),
    ).toEqual({
      hosts: ["web-01", "db.example.com", "ip-10-0-1-5.ec2.internal", "api-7d9f8-abcde"],
      ips: ["10.0.0.7"],
    });
    expect(entitiesFromLabels({ instance: "10.1.2.3:9100" })).toEqual({ hosts: [], ips: ["10.1.2.3"] });
    expect(entitiesFromLabels({ instance: "[2001:db8::1]:9100" })).toEqual({
      hosts: [],
      ips: ["2001:db8::1"],
    });
    expect(entitiesFromLabels({ instance: "http://probe.example.org:8080/health" }).hosts).toEqual([
      "probe.example.org",
    ]);
  });

  it("ignores values that are not host names", () => {
    expect(entitiesFromLabels({ host: "rm -rf /; echo", instance: "12345" })).toEqual({ hosts: [], ips: [] });
  });

  it("hostOfAddress keeps a bare IPv6 address whole", () => {
    expect(hostOfAddress("fe80::1")).toBe("fe80::1");
    expect(hostOfAddress("web-01:")).toBe("web-01");
  });
});

describe("labelsOfMetaData", () => {
  it("reads labels, Datadog key:value tags, Zabbix {tag,value} tags and top-level host fields", () => {
    expect(labelsOfMetaData({ labels: { instance: "a:1", n: 3, skip: { x: 1 } } })).toEqual({
      instance: "a:1",
      n: "3",
    });
    expect(labelsOfMetaData({ tags: ["env:prod", "host:web-01", "monitor"] })).toEqual({
      env: "prod",
      host: "web-01",
    });
    expect(tagsToLabels("env:prod, service:checkout")).toEqual({ env: "prod", service: "checkout" });
    expect(labelsOfMetaData({ tags: [{ tag: "service", value: "mysql" }], host: "db-01" })).toEqual({
      host: "db-01",
      service: "mysql",
    });
  });
});

describe("labels as evidence in intake and analysis", () => {
  it("puts the instance label's host (without its port) first among the detected hosts", () => {
    const state = {
      ticket: {
        title: "High CPU in us-east-1",
        description: "load is high",
        severity: "high" as const,
        environment: "prod",
        service: "",
        source: "x",
        externalId: null,
        sourceFingerprint: null,
        metaData: { labels: { instance: "web-07:9100", ip: "10.0.0.9" } },
      },
      entities: { hosts: [], ips: [], services: [], errorCodes: [], urls: [] },
      fingerprint: "",
      category: "",
      matches: [],
      decision: null,
      data: {},
    };
    const notes: string[] = [];
    extractStage.run(state, { note: (n: string) => notes.push(n) } as never);
    expect(state.entities.hosts).toEqual(["web-07"]);
    expect(state.entities.ips).toEqual(["10.0.0.9"]);
    expect(notes[0]).toContain("labels name web-07");
  });

  it("does not take a cloud region for a host", () => {
    const state = {
      ticket: {
        title: "Latency high in us-east-1 and eu-west-2",
        description: "",
        severity: "high" as const,
        environment: "",
        service: "",
        source: "x",
        externalId: null,
        sourceFingerprint: null,
        metaData: {},
      },
      entities: { hosts: [], ips: [], services: [], errorCodes: [], urls: [] },
      fingerprint: "",
      category: "",
      matches: [],
      decision: null,
      data: {},
    };
    extractStage.run(state, { note: () => {} } as never);
    expect(state.entities.hosts).toEqual([]);
  });

  it("the generic webhook takes severity and service from meta_data labels when the body has none", async () => {
    const { tickets } = await makeIntake();
    const body = {
      title: "Disk almost full",
      meta_data: {
        labels: {
          severity: "apocalyptic",
          priority: "P2",
          job: "node",
          app: "billing",
          instance: "db-03:9100",
        },
      },
    };
    const result = await tickets.ingestWebhook("generic", { headers: {}, body, rawBody: "" });
    const ticket = result.tickets[0]!.ticket;
    expect(ticket).toMatchObject({ severity: "high", service: "billing" });
    expect(ticket.analysis?.entities.hosts).toContain("db-03");
  });
});
