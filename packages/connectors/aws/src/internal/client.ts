/**
 * Builds the SDK clients of one connection: its region, endpoints and credentials. An assumed
 * role's temporary credentials are obtained here with STS AssumeRole (so they can be registered
 * for redaction the moment they exist) and cached per connection until five minutes before they
 * expire.
 */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { EC2Client } from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";
import { AssumeRoleCommand, type AssumeRoleCommandOutput, STSClient } from "@aws-sdk/client-sts";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { parseConnectionOptions } from "@runwarden/connector-kit";
import { rwError } from "@runwarden/core";
import { type AwsConnection, type AwsConnectionOptions, awsConnectionOptionsSchema } from "../config.js";
import { awsError } from "./errors.js";

/** The clients and options of one connection. */
export interface AwsClients {
  options: AwsConnectionOptions;
  ec2: EC2Client;
  ssm: SSMClient;
  sts: STSClient;
  autoscaling: AutoScalingClient;
  /** How the calls authenticate, for descriptions: `access key AKIA…`, `role arn:…`. */
  authKind: string;
  /** Closes the clients' sockets. */
  destroy(): void;
}

type Redact = ((value: string) => void) | undefined;

/** The SDK's credential identity (declared here: @smithy/types is not a direct dependency). */
interface AwsCredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
type AwsCredentialIdentityProvider = () => Promise<AwsCredentialIdentity>;

interface Cached {
  credentials: AwsCredentialIdentity;
  refreshAt: number;
}

/** Temporary credentials per role + source, shared by the connections that assume the same role. */
const roleCache = new Map<string, Cached>();

function endpointOf(
  options: AwsConnectionOptions,
  service: "ec2" | "ssm" | "sts" | "autoscaling",
): string | undefined {
  return options.endpoints?.[service] ?? options.endpoint;
}

function redactIdentity(credentials: AwsCredentialIdentity, redact: Redact): void {
  redact?.(credentials.secretAccessKey);
  if (credentials.sessionToken) redact?.(credentials.sessionToken);
}

/** Opens the connection's clients; throws RW_ERR_CONNECTOR_REJECTED for bad options or credential. */
export function openClients(
  connection: AwsConnection,
  settings: { maxAttempts: number; now: () => Date },
  redact: Redact,
): AwsClients {
  const options = parseConnectionOptions(awsConnectionOptionsSchema, connection, "AWS");
  const common = { region: options.region, maxAttempts: settings.maxAttempts };
  const credential = connection.credential;
  let base: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  let authKind: string;
  let roleClient: STSClient | undefined;
  if (credential === null || credential.credentialType === "aws_default_chain") {
    base = fromNodeProviderChain();
    authKind = "default credentials";
  } else if (credential.credentialType === "aws_access_key") {
    const v = credential.value;
    base = {
      accessKeyId: v.access_key_id,
      secretAccessKey: v.secret_access_key,
      ...(v.session_token ? { sessionToken: v.session_token } : {}),
    };
    authKind = `access key ${v.access_key_id}`;
  } else if (credential.credentialType === "aws_assume_role") {
    const v = credential.value;
    authKind = `role ${v.role_arn}`;
    const source: AwsCredentialIdentity | AwsCredentialIdentityProvider =
      v.access_key_id && v.secret_access_key
        ? { accessKeyId: v.access_key_id, secretAccessKey: v.secret_access_key }
        : fromNodeProviderChain();
    const stsForRole = new STSClient({
      ...common,
      credentials: source,
      ...(endpointOf(options, "sts") ? { endpoint: endpointOf(options, "sts") } : {}),
    });
    roleClient = stsForRole;
    const key = JSON.stringify([
      v.role_arn,
      v.external_id,
      v.session_name,
      v.access_key_id,
      options.region,
      endpointOf(options, "sts"),
    ]);
    base = async () => {
      const cached = roleCache.get(key);
      if (cached && cached.refreshAt > settings.now().getTime()) {
        redactIdentity(cached.credentials, redact);
        return cached.credentials;
      }
      let answer: AssumeRoleCommandOutput;
      try {
        answer = await stsForRole.send(
          new AssumeRoleCommand({
            RoleArn: v.role_arn,
            RoleSessionName: v.session_name,
            DurationSeconds: v.duration_seconds,
            ...(v.external_id ? { ExternalId: v.external_id } : {}),
          }),
        );
      } catch (error) {
        throw awsError(error, `assume role ${v.role_arn}`);
      }
      const c = answer.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
        throw rwError("RW_ERR_CONNECTOR_AUTH", `assume role ${v.role_arn}: STS returned no credentials`, {
          details: { reason: "auth" },
        });
      const credentials: AwsCredentialIdentity = {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        ...(c.Expiration ? { expiration: c.Expiration } : {}),
      };
      // Registered before anything else can see them.
      redactIdentity(credentials, redact);
      const expires = c.Expiration?.getTime() ?? settings.now().getTime() + v.duration_seconds * 1000;
      roleCache.set(key, { credentials, refreshAt: expires - 5 * 60_000 });
      return credentials;
    };
  } else {
    throw rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      `connection ${connection.name}: the AWS connector takes aws_access_key, aws_assume_role or aws_default_chain credentials`,
      { details: { reason: "credential" } },
    );
  }
  const make = <T>(service: "ec2" | "ssm" | "sts" | "autoscaling", Client: new (c: object) => T): T => {
    const endpoint = endpointOf(options, service);
    return new Client({ ...common, credentials: base, ...(endpoint ? { endpoint } : {}) });
  };
  const ec2 = make("ec2", EC2Client);
  const ssm = make("ssm", SSMClient);
  const sts = make("sts", STSClient);
  const autoscaling = make("autoscaling", AutoScalingClient);
  return {
    options,
    ec2,
    ssm,
    sts,
    autoscaling,
    authKind,
    destroy() {
      ec2.destroy();
      ssm.destroy();
      sts.destroy();
      autoscaling.destroy();
      roleClient?.destroy();
    },
  };
}

/** Forgets cached role credentials (tests). */
export function clearRoleCache(): void {
  roleCache.clear();
}
