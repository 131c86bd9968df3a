/**
 * Access tokens from google-auth-library: a JWT client for a service-account key, or the
 * application default credentials (workload identity, the metadata server) when the credential
 * is of type gcp_workload_identity. Scope cloud-platform.
 */
import { rwError } from "@runwarden/core";
import { GoogleAuth, JWT } from "google-auth-library";
import type { GcpConfig, GcpConnection } from "../config.js";

const SCOPE = "https://www.googleapis.com/auth/cloud-platform";
const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

/** Something that hands out access tokens for one credential. */
export interface TokenSource {
  /** The service account's email: the OS Login user. */
  email: string;
  token(): Promise<string>;
}

interface ServiceAccountKey {
  type?: string;
  client_email?: string;
  private_key?: string;
  private_key_id?: string;
}

function parseKey(json: string): ServiceAccountKey & { client_email: string; private_key: string } {
  let key: ServiceAccountKey;
  try {
    key = JSON.parse(json) as ServiceAccountKey;
  } catch {
    throw rwError(
      "RW_ERR_CONNECTOR_AUTH",
      "the credential's key_json is not JSON (paste the whole key file)",
      {
        details: { reason: "auth" },
      },
    );
  }
  if (key.type !== "service_account" || !key.client_email || !key.private_key) {
    throw rwError(
      "RW_ERR_CONNECTOR_AUTH",
      'the credential\'s key_json is not a service-account key (needs "type": "service_account", client_email and private_key)',
      { details: { reason: "auth" } },
    );
  }
  return key as ServiceAccountKey & { client_email: string; private_key: string };
}

function authError(error: unknown): Error {
  const e = error as { status?: number; response?: { status?: number }; code?: string; message?: string };
  const status = e.status ?? e.response?.status;
  if (status === 400 || status === 401 || status === 403) {
    return rwError(
      "RW_ERR_CONNECTOR_AUTH",
      `Google refused the credential (token endpoint answered ${status})`,
      {
        details: { reason: "auth", status },
      },
    );
  }
  return rwError("RW_ERR_CONNECTOR_UNREACHABLE", "could not obtain a Google access token", {
    details: { reason: "unreachable", code: e.code ?? null },
  });
}

/** A token source for the connection's credential. */
export function tokenSource(connection: GcpConnection, config: GcpConfig): TokenSource {
  const credential = connection.credential;
  if (!credential) {
    throw rwError("RW_ERR_CONNECTOR_AUTH", `connection ${connection.name} has no credential`, {
      details: { reason: "auth" },
    });
  }
  if (credential.credentialType === "gcp_workload_identity") {
    const value = credential.value as { service_account_email: string };
    const auth = new GoogleAuth({ scopes: [SCOPE] });
    return {
      email: value.service_account_email,
      async token() {
        try {
          const token = await auth.getAccessToken();
          if (!token) throw new Error("no token");
          return token;
        } catch (error) {
          throw authError(error);
        }
      },
    };
  }
  const key = parseKey((credential.value as { key_json: string }).key_json);
  const client = new JWT({
    email: key.client_email,
    key: key.private_key,
    keyId: key.private_key_id,
    scopes: [SCOPE],
  });
  if (config.endpoints.token !== GOOGLE_TOKEN_URL) {
    const target = config.endpoints.token;
    // google-auth-library posts the signed assertion to Google's fixed token URL: send it to
    // the configured endpoint (a Private Service Connect address) instead.
    client.transporter.interceptors.request.add({
      resolved: async (options) => {
        if (String(options.url) === GOOGLE_TOKEN_URL) options.url = new URL(target);
        return options;
      },
    });
  }
  return {
    email: key.client_email,
    async token() {
      try {
        const { token } = await client.getAccessToken();
        if (!token) throw new Error("no token");
        return token;
      } catch (error) {
        throw authError(error);
      }
    },
  };
}
