import { type CredentialOf, type ResolvedConnection, secret } from "@runwarden/core";
import { z } from "zod";

/** An Azure VM or resource group name as ARM allows them (no path separators, no query). */
export const vmName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "a VM name: letters, digits, _ . - (at most 64)");
export const resourceGroupName = z
  .string()
  .regex(/^[-\w._()]{1,90}$/, "a resource group name: letters, digits, _ . - ( ) (at most 90)")
  .refine((v) => !v.endsWith("."), "a resource group name does not end with a period");
const uuid = z.string().regex(/^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/, "a GUID");

const httpsUrl = z
  .string()
  .url()
  .refine((value) => new URL(value).protocol === "https:", "an https:// URL");

/** The connector's configuration. */
export const azureConfigSchema = z.strictObject({
  /** Endpoints, for sovereign clouds (and tests). Defaults: Azure public cloud. */
  endpoints: z
    .strictObject({
      resourceManager: httpsUrl.default("https://management.azure.com"),
      authorityHost: httpsUrl.default("https://login.microsoftonline.com"),
    })
    .prefault({}),
  /** Extra CA certificates (PEM) to trust for those endpoints: a TLS-inspecting proxy's CA. */
  tlsCa: z.string().min(1).optional(),
  /** Poll interval of long-running operations (run command, restart…). Default 5 s. */
  pollIntervalMs: z.number().int().positive().default(5_000),
  /** How long a long-running operation may take. Default 10 minutes (Run Command's own limit is 90 min). */
  operationTimeoutMs: z.number().int().positive().default(600_000),
});

/** The parsed configuration. */
export type AzureConfig = z.output<typeof azureConfigSchema>;

/** Per-connection options. The VM is the connection's `target_host` unless `vm` is given. */
export const azureConnectionOptionsSchema = z.strictObject({
  subscription_id: uuid,
  resource_group: resourceGroupName,
  vm: vmName.optional(),
});

/** The connection options, parsed. */
export type AzureConnectionOptions = z.output<typeof azureConnectionOptionsSchema>;

/** A service principal with a client secret. */
export const azureClientSecretCredential = z
  .object({
    tenant_id: uuid.describe("Directory (tenant) id"),
    client_id: uuid.describe("Application (client) id"),
    client_secret: secret(z.string().min(1)).describe("The client secret's value"),
  })
  .describe("An Entra ID service principal with a client secret");

/** A service principal with a certificate. */
export const azureClientCertificateCredential = z
  .object({
    tenant_id: uuid.describe("Directory (tenant) id"),
    client_id: uuid.describe("Application (client) id"),
    certificate_pem: secret(z.string().min(1)).describe("PEM: the certificate and its private key"),
  })
  .describe("An Entra ID service principal with a certificate");

/** Managed identity, when Runwarden runs on Azure: no secret stored. */
export const azureManagedIdentityCredential = z
  .object({
    client_id: uuid.optional().describe("A user-assigned identity's client id (empty: system-assigned)"),
  })
  .describe("The managed identity of the Azure host Runwarden runs on");

/** The credential types the Azure connector accepts. */
export const azureCredentialTypes = {
  azure_client_secret: azureClientSecretCredential,
  azure_client_certificate: azureClientCertificateCredential,
  azure_managed_identity: azureManagedIdentityCredential,
};

/** A connection as the Azure connector receives it. */
export type AzureConnection = ResolvedConnection<CredentialOf<typeof azureCredentialTypes>>;
