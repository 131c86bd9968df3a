import { describe, expect, it } from "vitest";
import servicenow from "../src/index.js";

describe("ServiceNow vendor set-up", () => {
  it("names the integration user, its role, the journal ACL, OAuth's property and the close code", () => {
    const steps = servicenow.vendorSetup!({ webhookUrl: "", baseUrl: "https://rw.example" });
    const text = steps.map((s) => `${s.title} ${s.text ?? ""} ${s.snippet?.content ?? ""}`).join("\n");
    for (const needle of [
      "itil",
      "sys_journal_field",
      "glide.oauth.inbound.client.credential.grant_type.enabled",
      "close_code",
      "GMT",
    ]) {
      expect(text).toContain(needle);
    }
  });
});
