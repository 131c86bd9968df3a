import ssh2 from "ssh2";
import { describe, expect, it } from "vitest";
import { keyPair } from "../src/internal/oslogin.js";

describe("OS Login keys", () => {
  it("are ed25519 key pairs ssh2 can read back, every one of 1,500 in a row", () => {
    // ssh2's own generator writes a key its parser refuses about once in 300: without the check,
    // 1,500 in a row pass with a chance of under 1%.
    for (let i = 0; i < 1_500; i++) {
      const pair = keyPair(`runwarden sa-${i}@project.iam.gserviceaccount.com`);
      const parsed = ssh2.utils.parseKey(pair.private);
      expect(parsed).not.toBeInstanceOf(Error);
      expect((parsed as ssh2.ParsedKey).type).toBe("ssh-ed25519");
      expect(pair.public).toMatch(/^ssh-ed25519 \S+ runwarden sa-\d+@project\.iam\.gserviceaccount\.com$/);
    }
  });
});
