/**
 * Type tests for `defineConnector`'s credential typing. `expectTypeOf` checks at compile time
 * (`pnpm typecheck`); at run time the calls are no-ops, and each `it` also runs the connector.
 */
import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  type ConnectorDefinition,
  type CredentialOf,
  type databaseCredential,
  defineConnector,
  type InfrastructureConnector,
  type ResolvedConnection,
  type ResolvedCredential,
  secret,
} from "../src/index.js";

const credentialTypes = {
  basic: z.object({ username: z.string(), password: secret(z.string()) }),
  ssh_key: z.object({
    username: z.string(),
    private_key: secret(z.string()),
    passphrase: secret(z.string()).optional(),
  }),
  bearer: z.object({ token: secret(z.string()) }),
};
type Declared = CredentialOf<typeof credentialTypes>;

const connector = defineConnector({
  kind: "infrastructure",
  name: "typed",
  version: "1.0.0",
  sdk: "^0.1.0",
  configSchema: z.object({}),
  capabilities: [],
  credentialTypes,
  create: () => ({
    async open(connection) {
      expectTypeOf(connection).toEqualTypeOf<ResolvedConnection<Declared>>();
      const credential = connection.credential;
      if (credential?.credentialType === "basic") {
        expectTypeOf(credential.value).toEqualTypeOf<{ username: string; password: string }>();
      } else if (credential?.credentialType === "ssh_key") {
        expectTypeOf(credential.value.passphrase).toEqualTypeOf<string | undefined>();
      } else if (credential) {
        expectTypeOf(credential.credentialType).toEqualTypeOf<"bearer">();
        expectTypeOf(credential.value).toEqualTypeOf<{ token: string }>();
        // @ts-expect-error a bearer credential has no username
        void credential.value.username;
      }
      return { exec: async () => ({ exitCode: 0, stdout: "", stderr: "" }), release: async () => {} };
    },
    async healthCheck() {
      return { ok: true, latencyMs: 0 };
    },
  }),
});

describe("defineConnector credential typing", () => {
  it("discriminates the credential open() receives by its declared type names", () => {
    expectTypeOf<Declared["credentialType"]>().toEqualTypeOf<"basic" | "ssh_key" | "bearer">();
    expectTypeOf<Extract<Declared, { credentialType: "basic" }>>().toEqualTypeOf<
      ResolvedCredential<"basic", { username: string; password: string }>
    >();
  });

  it("keeps the untyped credential for a connector that declares no types", () => {
    const untyped = defineConnector({
      kind: "infrastructure",
      name: "untyped",
      version: "1.0.0",
      sdk: "^0.1.0",
      configSchema: z.object({}),
      capabilities: [],
      create: (): InfrastructureConnector => ({
        open: async (connection) => {
          expectTypeOf(connection.credential).toEqualTypeOf<ResolvedCredential | null>();
          expectTypeOf(connection.credential!.value).toEqualTypeOf<Record<string, unknown>>();
          return { exec: async () => ({ exitCode: 0, stdout: "", stderr: "" }), release: async () => {} };
        },
        healthCheck: async () => ({ ok: true, latencyMs: 0 }),
      }),
    });
    // biome-ignore lint/complexity/noBannedTypes: defineConnector's "no credential types declared"
    expectTypeOf(untyped.credentialTypes).toEqualTypeOf<{} | undefined>();
  });

  it("types core's database credential as the connector guide's body", () => {
    expectTypeOf<CredentialOf<{ database: typeof databaseCredential }>["value"]>().toEqualTypeOf<{
      username: string;
      password?: string | undefined;
      host?: string | undefined;
      port?: number | undefined;
      database_name?: string | undefined;
    }>();
  });

  it("lets every typed declaration be registered as a plain ConnectorDefinition", () => {
    expectTypeOf(connector).toExtend<ConnectorDefinition>();
    // @ts-expect-error credential types are zod object schemas, not strings
    defineConnector({ ...connector, credentialTypes: { basic: "username,password" } });
  });
});
