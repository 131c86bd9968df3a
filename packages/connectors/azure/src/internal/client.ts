/**
 * The Azure SDK objects for one connection: an @azure/identity credential of the connection's
 * type, wrapped so every token it hands out is registered for redaction, and a
 * ComputeManagementClient for its subscription. Extra CA certificates (config `tlsCa`) are given
 * to both pipelines as TLS settings.
 */

import { ComputeManagementClient } from "@azure/arm-compute";
import type { TokenCredential } from "@azure/core-auth";
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
} from "@azure/identity";
import { parseConnectionOptions } from "@runwarden/connector-kit";
import { rwError } from "@runwarden/core";
import { type AzureConfig, type AzureConnection, azureConnectionOptionsSchema, vmName } from "../config.js";

/** Where a connection points. */
export interface Target {
  subscriptionId: string;
  resourceGroup: string;
  vm: string;
}

export interface Azure {
  target: Target;
  compute: ComputeManagementClient;
  credential: TokenCredential;
}

const ARM_SCOPE = "https://management.azure.com/.default";

// biome-ignore lint/suspicious/noExplicitAny: the pipeline request type differs between the two pipelines
type AnyRequest = any;

function caPolicies(config: AzureConfig) {
  const ca = config.tlsCa;
  if (!ca) return [];
  return [
    {
      position: "perCall" as const,
      policy: {
        name: "runwardenTlsCa",
        sendRequest: (request: AnyRequest, next: (r: AnyRequest) => Promise<AnyRequest>) => {
          request.tlsSettings = { ...(request.tlsSettings ?? {}), ca };
          return next(request);
        },
      },
    },
  ];
}

/** Reads the connection's target. */
export function targetOf(connection: AzureConnection): Target {
  const options = parseConnectionOptions(azureConnectionOptionsSchema, connection, "Azure");
  const vm = vmName.safeParse(options.vm ?? connection.targetHost ?? "");
  if (!vm.success) {
    throw rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      `connection ${connection.name} names no VM (target_host or options.vm)`,
      { details: { reason: "config", connection: connection.name } },
    );
  }
  return { subscriptionId: options.subscription_id, resourceGroup: options.resource_group, vm: vm.data };
}

function baseCredential(connection: AzureConnection, config: AzureConfig): TokenCredential {
  const credential = connection.credential;
  if (!credential) {
    throw rwError("RW_ERR_CONNECTOR_AUTH", `connection ${connection.name} has no credential`, {
      details: { reason: "auth" },
    });
  }
  const common = {
    authorityHost: config.endpoints.authorityHost,
    additionalPolicies: caPolicies(config),
    // A private authority has no instance-discovery endpoint; Entra ID's public one needs none either.
    disableInstanceDiscovery: config.endpoints.authorityHost !== "https://login.microsoftonline.com",
  };
  const value = credential.value as Record<string, string | undefined>;
  switch (credential.credentialType) {
    case "azure_client_secret":
      return new ClientSecretCredential(value.tenant_id!, value.client_id!, value.client_secret!, common);
    case "azure_client_certificate":
      return new ClientCertificateCredential(
        value.tenant_id!,
        value.client_id!,
        { certificate: value.certificate_pem! },
        common,
      );
    case "azure_managed_identity":
      return value.client_id
        ? new ManagedIdentityCredential({ clientId: value.client_id, additionalPolicies: caPolicies(config) })
        : new ManagedIdentityCredential({ additionalPolicies: caPolicies(config) });
    default:
      throw rwError(
        "RW_ERR_CONNECTOR_AUTH",
        `the Azure connector takes no ${String((credential as { credentialType?: string }).credentialType)} credential`,
        {
          details: { reason: "auth" },
        },
      );
  }
}

function authError(error: unknown): Error {
  const e = error as { name?: string; statusCode?: number; message?: string };
  const aadsts = /AADSTS\d+/.exec(e.message ?? "")?.[0];
  const network =
    /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EAI_AGAIN|certificate|endpoints_resolution_error|network_error/i.exec(
      e.message ?? "",
    )?.[0];
  if (network && !aadsts) {
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `could not reach Entra ID (${network})`, {
      details: { reason: network === "ENOTFOUND" || network === "EAI_AGAIN" ? "DNS" : "unreachable" },
    });
  }
  const refused =
    e.name === "AuthenticationError" ||
    e.name === "AuthenticationRequiredError" ||
    e.name === "CredentialUnavailableError" ||
    aadsts !== undefined;
  if (refused) {
    return rwError(
      "RW_ERR_CONNECTOR_AUTH",
      `Entra ID refused the credential${aadsts ? ` (${aadsts})` : ""}`,
      {
        details: { reason: "auth", status: e.statusCode ?? null, code: aadsts ?? null },
      },
    );
  }
  return rwError("RW_ERR_CONNECTOR_UNREACHABLE", "could not obtain an Entra ID token", {
    details: { reason: "unreachable" },
  });
}

/** The SDK objects for `connection`; `onToken` sees every access token before it is used. */
export function openAzure(
  connection: AzureConnection,
  config: AzureConfig,
  onToken: (token: string) => void,
): Azure {
  const target = targetOf(connection);
  const inner = baseCredential(connection, config);
  const credential: TokenCredential = {
    async getToken(scopes, options) {
      let token: Awaited<ReturnType<TokenCredential["getToken"]>>;
      try {
        token = await inner.getToken(scopes, options);
      } catch (error) {
        throw authError(error);
      }
      if (token) onToken(token.token);
      return token;
    },
  };
  const compute = new ComputeManagementClient(credential, target.subscriptionId, {
    endpoint: config.endpoints.resourceManager,
    credentials: { scopes: [ARM_SCOPE] },
    additionalPolicies: caPolicies(config),
    retryOptions: { maxRetries: 2 },
  } as ConstructorParameters<typeof ComputeManagementClient>[2]);
  return { target, compute, credential };
}

/** Gets an ARM token now (proves the credential). */
export async function probeToken(azure: Azure, signal: AbortSignal): Promise<void> {
  await azure.credential.getToken(ARM_SCOPE, { abortSignal: signal });
}

/** Maps an ARM error (RestError) to a connector error. */
export function armError(error: unknown, what: string): Error {
  const e = error as {
    code?: string;
    statusCode?: number;
    name?: string;
    message?: string;
    details?: { reason?: string };
  };
  if ((e as { code?: string }).code?.startsWith?.("RW_ERR_")) return error as Error;
  if (e.name === "AbortError") {
    return rwError("RW_ERR_CONNECTOR_TIMEOUT", `${what} was aborted`, { details: { reason: "aborted" } });
  }
  const status = e.statusCode;
  const message = `${what}: ${(e.message ?? "failed").split("\n")[0]!.slice(0, 300)}`;
  const details = { reason: "api", status: status ?? null, code: e.code ?? null };
  if (status === 401 || status === 403)
    return rwError("RW_ERR_CONNECTOR_AUTH", message, { details: { ...details, reason: "auth" } });
  if (status === 404) return rwError("RW_ERR_CONNECTOR_NOT_FOUND", message, { details });
  if (status === 409) return rwError("RW_ERR_CONNECTOR_CONFLICT", message, { details });
  if (status === 429) return rwError("RW_ERR_CONNECTOR_RATE_LIMITED", message, { details });
  if (status === undefined || status >= 500)
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", message, {
      details: { ...details, reason: "unreachable" },
    });
  return rwError("RW_ERR_CONNECTOR_REJECTED", message, { details });
}
