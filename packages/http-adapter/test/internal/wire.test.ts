import { Ticket, TicketInput } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { fromWire, snakeSchema, toCamel, toSnake, toWire, wirePath } from "../../src/internal/wire.js";

describe("toSnake / toCamel", () => {
  it("renames camelCase keys to snake_case and back when the key has several words", () => {
    expect(toSnake("metaData")).toBe("meta_data");
    expect(toSnake("credentialId")).toBe("credential_id");
    expect(toSnake("title")).toBe("title");
    expect(toCamel("database_name")).toBe("databaseName");
    expect(toCamel(toSnake("targetPort"))).toBe("targetPort");
  });
});

describe("fromWire", () => {
  it("renames only the schema's object keys when the value holds free-form JSON", () => {
    const wire = {
      title: "Disk full",
      external_id: "A-1",
      meta_data: { connection_config: { connector_type: "ssh", credential_id: 5 } },
    };
    const value = fromWire(TicketInput, wire) as Record<string, unknown>;
    expect(value).toEqual({
      title: "Disk full",
      externalId: "A-1",
      metaData: { connection_config: { connector_type: "ssh", credential_id: 5 } },
    });
    expect(TicketInput.parse(value).metaData).toEqual(wire.meta_data);
  });

  it("drops keys outside the schema when the input carries camelCase spellings", () => {
    expect(fromWire(TicketInput, { title: "x", metaData: { a: 1 } })).toEqual({ title: "x" });
  });

  it("leaves a non-object value alone when the schema expects an object", () => {
    expect(fromWire(TicketInput, "text")).toBe("text");
    expect(fromWire(TicketInput, [1, 2])).toEqual([1, 2]);
  });
});

describe("toWire", () => {
  it("converts nested objects and arrays when a core value is answered", () => {
    const schema = z.object({
      ticketId: z.number(),
      analysis: z.object({ candidates: z.array(z.object({ runbookId: z.number() })) }).nullable(),
      metaData: z.record(z.string(), z.unknown()),
    });
    expect(
      toWire(schema, { ticketId: 1, analysis: { candidates: [{ runbookId: 2 }] }, metaData: { fooBar: 1 } }),
    ).toEqual({
      ticket_id: 1,
      analysis: { candidates: [{ runbook_id: 2 }] },
      meta_data: { fooBar: 1 },
    });
    expect(toWire(schema, { ticketId: 1, analysis: null, metaData: {} })).toEqual({
      ticket_id: 1,
      analysis: null,
      meta_data: {},
    });
  });
});

describe("snakeSchema", () => {
  it("accepts the snake_case spelling of a core shape when it is documented", () => {
    const wire = snakeSchema(Ticket);
    const shape = (wire as z.ZodObject).shape;
    expect(Object.keys(shape)).toContain("external_id");
    expect(Object.keys(shape)).toContain("status_reason");
    expect(Object.keys(shape)).not.toContain("externalId");
  });

  it("keeps field checks and drops object refinements that read camelCase keys", () => {
    const schema = z
      .object({ maxCount: z.number().max(3), minCount: z.number() })
      .refine((v) => v.minCount <= v.maxCount, "min above max");
    const wire = snakeSchema(schema);
    expect(wire.safeParse({ max_count: 2, min_count: 1 }).success).toBe(true);
    expect(wire.safeParse({ max_count: 9, min_count: 1 }).success).toBe(false);
  });
});

describe("wirePath", () => {
  it("joins an issue path in snake_case when core reports camelCase fields", () => {
    expect(wirePath(["metaData", 0, "credentialId"])).toBe("meta_data.0.credential_id");
  });
});
