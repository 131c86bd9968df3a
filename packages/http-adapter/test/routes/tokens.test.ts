import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, setup } from "../helpers.js";

let h: Harness;
beforeAll(async () => {
  h = await setup();
});
afterAll(() => h.close());

describe("POST /tokens", () => {
  it("returns the token once, acting as the named actor with its roles", async () => {
    const r = await h.json("POST", "/tokens", { json: { actor: "ci-bot", roles: ["operator"] } });
    expect(r.status).toBe(201);
    expect(r.body.token).toMatch(/^rw_/);
    expect(r.body.info).toMatchObject({
      actor: "ci-bot",
      roles: ["operator"],
      created_by: "root",
      revoked_at: null,
    });
    expect(r.body.info).not.toHaveProperty("token_hash");
    const me = await h.json("GET", "/me", { token: r.body.token });
    expect(me.body).toMatchObject({ actor: "ci-bot", roles: ["operator"], token_id: r.body.info.id });
    // Its own record, for the dashboard's "your token": never the token or its hash.
    expect(me.body.token).toMatchObject({ id: r.body.info.id, actor: "ci-bot", prefix: r.body.info.prefix });
    expect(JSON.stringify(me.body)).not.toContain(r.body.token);
    expect(me.body.token).not.toHaveProperty("token_hash");
    const list = await h.call("GET", "/tokens");
    expect(await list.text()).not.toContain(r.body.token);
  });

  it("answers 422 for unknown roles or actors and 403 for non-admins", async () => {
    expect((await h.json("POST", "/tokens", { json: { actor: "x", roles: ["root"] } })).status).toBe(422);
    expect((await h.json("POST", "/tokens", { json: { actor: "x", roles: [] } })).status).toBe(422);
    const badActor = await h.json("POST", "/tokens", { json: { actor: "two words\n", roles: ["viewer"] } });
    expect(badActor.status).toBe(422);
    expect(badActor.body.error.fields[0].field).toBe("actor");
    expect(
      (await h.json("POST", "/tokens", { token: h.tokens.approver, json: { actor: "x", roles: ["admin"] } }))
        .status,
    ).toBe(403);
  });
});

describe("GET /tokens and DELETE /tokens/{id}", () => {
  it("lists tokens and revokes one, which then answers 401", async () => {
    const created = await h.json("POST", "/tokens", { json: { actor: "temp", roles: ["viewer"] } });
    const list = await h.json("GET", "/tokens");
    expect(list.body.items.map((t: { actor: string }) => t.actor)).toContain("temp");
    expect((await h.json("GET", "/tokens", { token: h.tokens.operator })).status).toBe(403);
    const revoked = await h.json("DELETE", `/tokens/${created.body.info.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    expect((await h.json("GET", "/me", { token: created.body.token })).status).toBe(401);
    expect((await h.json("DELETE", "/tokens/9999")).status).toBe(404);
    const audit = await h.engine.audit.list({ objectType: "token" });
    expect(audit.items.map((e) => e.action)).toEqual(
      expect.arrayContaining(["token.created", "token.revoked"]),
    );
  });
});
