/**
 * Authorization headers for ServiceDesk Plus: the on-premises `authtoken`, or a Zoho OAuth access
 * token from a refresh token, cached until shortly before it expires.
 */
import { createHttpClient } from "@runwarden/connector-kit";
import type { Logger } from "@runwarden/core";
import { rwError } from "@runwarden/core";
import { z } from "zod";
import type { ServiceDeskPlusConfig } from "../config.js";

export interface SdpAuth {
  headers(signal: AbortSignal): Promise<Record<string, string>>;
  /** Forget the cached access token (the API refused it); false when there is none to renew. */
  invalidate(): boolean;
}

const ZohoToken = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive().default(3_600),
});

export function createSdpAuth(
  config: ServiceDeskPlusConfig,
  deps: { logger: Logger; now(): number },
): SdpAuth {
  const { auth } = config;
  if (auth.type === "authtoken") {
    return {
      headers: async () => ({ authtoken: auth.authtoken }),
      invalidate: () => false,
    };
  }
  const oauth = auth;
  const accounts = createHttpClient({
    vendor: "Zoho accounts",
    baseUrl: new URL(oauth.accountsUrl),
    dispatcher: config.dispatcher,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: 64 * 1024,
    now: deps.now,
    headers: () => ({}),
  });
  let token: { value: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function refresh(signal: AbortSignal): Promise<string> {
    const body = await accounts.json({
      method: "POST",
      path: "oauth/v2/token",
      form: {
        grant_type: "refresh_token",
        refresh_token: oauth.refreshToken,
        client_id: oauth.clientId,
        client_secret: oauth.clientSecret,
      },
      anonymous: true,
      signal,
    });
    // Zoho answers a refused refresh token with 200 and `{ "error": "invalid_code" }`.
    const parsed = ZohoToken.safeParse(body);
    if (!parsed.success) {
      const error = z.object({ error: z.string().max(100) }).safeParse(body);
      throw rwError("RW_ERR_CONNECTOR_AUTH", "Zoho refused to refresh the ServiceDesk Plus access token", {
        details: { vendor: "Zoho accounts", error: error.success ? error.data.error : "no access_token" },
      });
    }
    const lifetimeMs = parsed.data.expires_in * 1000;
    token = {
      value: parsed.data.access_token,
      expiresAt: deps.now() + lifetimeMs - Math.min(60_000, lifetimeMs / 2),
    };
    deps.logger.debug({ expiresInS: parsed.data.expires_in }, "servicedesk plus access token refreshed");
    return token.value;
  }

  function accessToken(signal: AbortSignal): Promise<string> {
    if (token && deps.now() < token.expiresAt) return Promise.resolve(token.value);
    pending ??= refresh(signal).finally(() => {
      pending = undefined;
    });
    return pending;
  }

  return {
    headers: async (signal) => ({ authorization: `Zoho-oauthtoken ${await accessToken(signal)}` }),
    invalidate() {
      const had = token !== undefined;
      token = undefined;
      return had;
    },
  };
}
