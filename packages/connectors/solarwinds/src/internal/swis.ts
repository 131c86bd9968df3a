/**
 * A client for the SWIS REST/JSON endpoint (OrionSDK docs/rest.md): `POST Query` with bound
 * parameters and `POST Invoke/<Entity>/<Verb>` with positional arguments, over HTTP basic auth, with
 * TLS verified against the configured CA. Failures are `RW_ERR_CONNECTOR_*` (connector-kit's
 * mapping); a certificate that cannot be verified is `RW_ERR_CONNECTOR_AUTH` (reason `tls`).
 */
import { createHttpClient, type HttpClient } from "@runwarden/connector-kit";
import { isRunwardenError, rwError } from "@runwarden/core";
import { Agent, type Dispatcher } from "undici";
import type { z } from "zod";
import type { SolarWindsConfig } from "../config.js";
import { QueryResponse } from "../payload.js";

const tlsCodes = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME|ALTNAME/;

/** True for a transport failure that is a certificate or TLS handshake problem. */
export function isTlsFailure(error: unknown): boolean {
  if (!isRunwardenError(error) || error.code !== "RW_ERR_CONNECTOR_UNREACHABLE") return false;
  return tlsCodes.test(String(error.details?.reason ?? ""));
}

/** The SWIS API root: the configured URL, plus the standard path when it has none. */
export function swisBaseUrl(url: string): URL {
  const parsed = new URL(url);
  if (parsed.pathname === "/" || parsed.pathname === "") {
    parsed.pathname = "/SolarWinds/InformationService/v3/Json/";
  }
  return parsed;
}

/** The undici agent that carries the TLS settings (CA, verification, server name). */
export function tlsAgent(tls: SolarWindsConfig["tls"]): Dispatcher {
  return new Agent({
    connect: {
      rejectUnauthorized: tls.verify,
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.servername ? { servername: tls.servername } : {}),
    },
  });
}

export interface SwisClient {
  /** Runs one SWQL query with bound parameters; the rows parsed with `row`, and `totalRows`. */
  query<S extends z.ZodType>(
    swql: string,
    parameters: Record<string, unknown>,
    row: S,
    signal: AbortSignal,
  ): Promise<{ rows: z.output<S>[]; totalRows: number | undefined }>;
  /** Invokes a verb with positional arguments; resolves its JSON result. */
  invoke(entity: string, verb: string, args: readonly unknown[], signal: AbortSignal): Promise<unknown>;
  close(): Promise<void>;
}

export function createSwisClient(
  config: SolarWindsConfig & { url: string; username: string; password: string },
  deps: { now(): number },
): SwisClient {
  const owned = config.dispatcher ? undefined : tlsAgent(config.tls);
  const authorization = `Basic ${Buffer.from(`${config.username}:${config.password}`, "utf8").toString("base64")}`;
  const http: HttpClient = createHttpClient({
    vendor: "SolarWinds",
    baseUrl: swisBaseUrl(config.url),
    dispatcher: config.dispatcher ?? owned,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: 32 * 1024 * 1024,
    now: deps.now,
    headers: () => ({ authorization }),
  });

  async function call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (isTlsFailure(error)) {
        const e = error as { details?: Record<string, unknown> };
        throw rwError(
          "RW_ERR_CONNECTOR_AUTH",
          "the TLS certificate of the SolarWinds server could not be verified: set tls.ca to its CA (PEM)",
          { cause: error, details: { ...e.details, reason: "tls" } },
        );
      }
      throw error;
    }
  }

  return {
    async query(swql, parameters, row, signal) {
      const body = await call(() =>
        http.json({ method: "POST", path: "Query", json: { query: swql, parameters }, signal }),
      );
      const parsed = QueryResponse.safeParse(body);
      if (!parsed.success) {
        throw rwError("RW_ERR_CONNECTOR_REJECTED", "SolarWinds answered a query with an unexpected shape", {
          details: { vendor: "SolarWinds", path: "Query" },
        });
      }
      const rows: z.output<typeof row>[] = [];
      for (const [index, item] of parsed.data.results.entries()) {
        const one = row.safeParse(item);
        if (!one.success) {
          throw rwError("RW_ERR_CONNECTOR_REJECTED", "SolarWinds answered a query with an unexpected row", {
            details: {
              vendor: "SolarWinds",
              path: "Query",
              row: index,
              issues: one.error.issues.slice(0, 5).map((i) => `${i.path.join(".")}: ${i.message}`),
            },
          });
        }
        rows.push(one.data);
      }
      return { rows, totalRows: parsed.data.totalRows };
    },

    invoke(entity, verb, args, signal) {
      return call(() =>
        http.json({
          method: "POST",
          path: `Invoke/${encodeURIComponent(entity)}/${encodeURIComponent(verb)}`,
          json: args,
          signal,
        }),
      );
    },

    async close() {
      await owned?.close();
    },
  };
}
