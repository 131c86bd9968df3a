import { afterEach, describe, expect, it } from "vitest";
import { type Harness, setup } from "./helpers.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("the host's authenticate hook", () => {
  it("maps the host's own credential to a Runwarden actor and roles", async () => {
    h = await setup({
      adapter: {
        authenticate: ({ request }) =>
          request.headers.get("x-host-session") === "s3cret"
            ? { actor: "sam@host", roles: ["operator"] }
            : undefined,
      },
    });
    const me = await h.json("GET", "/me", { token: null, headers: { "x-host-session": "s3cret" } });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ actor: "sam@host", roles: ["operator"], token_id: null });
    expect((await h.call("GET", "/me", { token: null, headers: { "x-host-session": "wrong" } })).status).toBe(
      401,
    );
  });

  it("enforces the roles it returns (an operator cannot list API tokens)", async () => {
    h = await setup({ adapter: { authenticate: () => ({ actor: "vic", roles: ["operator"] }) } });
    const res = await h.call("GET", "/tokens", { token: null });
    expect(res.status).toBe(403);
  });

  it("drops roles Runwarden does not know instead of granting anything", async () => {
    h = await setup({
      adapter: { authenticate: () => ({ actor: "eve", roles: ["superuser" as never] }) },
    });
    const res = await h.call("GET", "/tickets", { token: null });
    expect(res.status).toBe(403);
  });

  it("falls back to API tokens when the hook does not recognise the caller", async () => {
    h = await setup({ adapter: { authenticate: () => undefined } });
    expect((await h.call("GET", "/tickets")).status).toBe(200);
    expect((await h.call("GET", "/tickets", { token: null })).status).toBe(401);
  });
});
