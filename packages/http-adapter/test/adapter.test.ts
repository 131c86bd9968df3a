import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpAdapter } from "../src/index.js";
import { type Harness, setup } from "./helpers.js";

let h: Harness;
beforeAll(async () => {
  h = await setup({ adapter: { limits: { jsonBytes: 2048 } } });
});
afterAll(() => h.close());

describe("createHttpAdapter", () => {
  it("answers an unknown route with a JSON 404 when no endpoint matches", async () => {
    const r = await h.json("GET", "/nope");
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("RW_ERR_INPUT_NO_ROUTE");
    const wrongMethod = await h.json("PUT", "/tickets");
    expect(wrongMethod.status).toBe(404);
  });

  it("answers 401 when the token is missing, malformed or unknown", async () => {
    for (const headers of [
      {},
      { authorization: "Basic abc" },
      { authorization: "Bearer rw_doesnotexist000000000000000000" },
    ]) {
      const r = await h.json("GET", "/tickets", { token: null, headers });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: { code: "RW_ERR_AUTH_UNAUTHENTICATED", message: expect.any(String) } });
    }
  });

  it("answers 403 naming the roles when the token lacks them", async () => {
    const r = await h.json("POST", "/tickets/demo/ticket", { token: h.tokens.viewer, json: { title: "x" } });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("RW_ERR_AUTH_FORBIDDEN");
    expect(r.body.error.details.required_roles).toEqual(["operator"]);
  });

  it("answers 400 when the JSON body does not parse", async () => {
    const r = await h.json("POST", "/tickets/demo/ticket", {
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("RW_ERR_INPUT_MALFORMED");
  });

  it("answers 415 when a JSON endpoint gets another media type", async () => {
    const r = await h.json("POST", "/tickets/demo/ticket", {
      body: "title=x",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(r.status).toBe(415);
    expect(r.body.error.code).toBe("RW_ERR_INPUT_MEDIA_TYPE");
  });

  it("answers 413 when a JSON body exceeds the limit, declared or streamed", async () => {
    const big = JSON.stringify({ title: "x", description: "y".repeat(5000) });
    const declared = await h.json("POST", "/tickets/demo/ticket", {
      body: big,
      headers: { "content-type": "application/json" },
    });
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe("RW_ERR_INPUT_TOO_LARGE");
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const res = await h.adapter.fetch(
      new Request(`http://t${h.adapter.basePath}/tickets/demo/ticket`, {
        method: "POST",
        body: stream,
        headers: { authorization: `Bearer ${h.tokens.admin}`, "content-type": "application/json" },
        duplex: "half",
      } as RequestInit),
    );
    expect(res.status).toBe(413);
  });

  it("answers 422 with every offending field in snake_case when the body is invalid", async () => {
    const r = await h.json("POST", "/tickets/demo/ticket", {
      json: { title: "", severity: "urgent", meta_data: "not-an-object" },
    });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("RW_ERR_INPUT_INVALID");
    const fields = r.body.error.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(["title", "severity", "meta_data"]));
  });

  it("answers 422 when a path id is not a positive integer", async () => {
    for (const id of ["abc", "0", "-1", "1.5", "99999999999999999999"]) {
      const r = await h.json("GET", `/tickets/${id}`);
      expect(r.status).toBe(422);
      expect(r.body.error.fields[0].field).toBe("id");
    }
  });

  it("answers 404 with the entity when the object does not exist", async () => {
    const r = await h.json("GET", "/tickets/424242");
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("RW_ERR_STORAGE_NOT_FOUND");
    expect(r.body.error.details).toEqual({ entity: "ticket", id: 424242 });
  });

  it("hides the message of an internal error when a handler fails unexpectedly", async () => {
    const broken = createHttpAdapter({
      engine: {
        ...h.engine,
        tickets: {
          ...h.engine.tickets,
          get: () => {
            throw new Error("database password is hunter2");
          },
        },
      },
      tokens: h.adapter.tokens,
    });
    const res = await broken.fetch(
      new Request(`http://t${broken.basePath}/tickets/1`, {
        headers: { authorization: `Bearer ${h.tokens.admin}` },
      }),
    );
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("hunter2");
    expect(JSON.parse(text).error.code).toBe("RW_ERR_INTERNAL");
    broken.close();
  });

  it("mounts every route under the prefix when one is given", async () => {
    const mounted = createHttpAdapter({ engine: h.engine, prefix: "/ops/rw/", tokens: h.adapter.tokens });
    expect(mounted.basePath).toBe("/ops/rw/api/v1");
    const ok = await mounted.fetch(new Request("http://t/ops/rw/api/v1/health"));
    expect(ok.status).toBe(200);
    const outside = await mounted.fetch(new Request("http://t/api/v1/health"));
    expect(outside.status).toBe(404);
    mounted.close();
  });
});
