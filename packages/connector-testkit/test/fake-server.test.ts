import { afterEach, describe, expect, it } from "vitest";
import { type FakeServer, fakeServer } from "../src/index.js";

describe("fakeServer", () => {
  let server: FakeServer;
  afterEach(() => server.close());

  it("answers JSON from a route and logs the request", async () => {
    server = await fakeServer({
      "POST /items/:id": (r) => ({ status: 201, body: { id: r.params.id, got: r.json() } }),
    });
    const res = await fetch(`${server.url}/items/42?x=1`, { method: "POST", body: '{"a":1}' });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ id: "42", got: { a: 1 } });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({ method: "POST", path: "/items/42", body: '{"a":1}' });
    expect(server.requests[0]?.query.get("x")).toBe("1");
  });

  it("answers 404 for an unmatched request and still logs it", async () => {
    server = await fakeServer();
    const res = await fetch(`${server.url}/nothing`);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
    expect(server.requests.map((r) => r.path)).toEqual(["/nothing"]);
  });

  it("replaces a route added again and matches any method with *", async () => {
    server = await fakeServer({ "* /x": () => ({ body: "first" }) });
    server.route("* /x", () => ({ body: "second", headers: { "x-test": "1" } }));
    const res = await fetch(`${server.url}/x`, { method: "DELETE" });
    expect(await res.text()).toBe("second");
    expect(res.headers.get("x-test")).toBe("1");
  });

  it("answers 500 with the message when a handler throws", async () => {
    server = await fakeServer({
      "GET /boom": () => {
        throw new Error("kaput");
      },
    });
    const res = await fetch(`${server.url}/boom`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "kaput" });
  });

  it("refuses a malformed route spec", async () => {
    server = await fakeServer();
    expect(() => server.route("get nothing", () => ({}))).toThrow(TypeError);
  });
});
