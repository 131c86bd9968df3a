import { type CredentialOf, type ResolvedConnection, secret } from "@runwarden/core";
import { z } from "zod";

/** The connector's configuration: timeouts and polling shared by every connection. */
export const awsConfigSchema = z.strictObject({
  /** One API call (describe, reboot, a poll) when the step sets no timeout. Default 30 s. */
  requestTimeoutMs: z.number().int().positive().default(30_000),
  /** A Run Command step's timeout when the step sets none. Default 10 minutes. */
  execTimeoutMs: z.number().int().positive().default(600_000),
  /** `stop` and `start` wait for the instance state at most this long. Default 10 minutes. */
  waitTimeoutMs: z.number().int().positive().default(600_000),
  /** How often GetCommandInvocation (and the stop/start waiters) poll. Default 2 s. */
  pollIntervalMs: z.number().int().positive().default(2_000),
  /** Attempts per AWS call (the SDK's standard retry mode: throttling and 5xx back off). Default 3. */
  maxAttempts: z.number().int().min(1).max(10).default(3),
});

/** The parsed configuration. */
export type AwsConfig = z.output<typeof awsConfigSchema>;

/** An EC2 instance id: `i-` and 8 or 17 lower-case hex digits. */
export const instanceId = z
  .string()
  .regex(/^i-[0-9a-f]{8,17}$/, "must be an EC2 instance id such as i-0123456789abcdef0");

/** An AWS region name, e.g. `eu-west-1`. */
export const regionName = z
  .string()
  .regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, "must be an AWS region such as eu-west-1");

/** A tag key or value as EC2 and SSM accept them (no control characters). */
const tagText = z
  .string()
  .min(1)
  .max(256)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are refused
  .regex(/^[^\u0000-\u001f\u007f]*$/, "must not hold control characters");

/** The step actions (`action:` in an aws step). */
export const awsActions = [
  "run-command",
  "reboot",
  "stop",
  "start",
  "describe-status",
  "instance-refresh",
] as const;

/** A step action. */
export type AwsAction = (typeof awsActions)[number];

const endpoint = z.url({ protocol: /^https?$/ });

/**
 * Per-connection options (the connection's `options`, snake_case as the REST API takes them).
 * `sh`/`powershell` steps run through SSM Run Command on `instance_ids` or the instances tagged
 * `tags`; `aws` steps name their own instances.
 */
export const awsConnectionOptionsSchema = z.strictObject({
  /** The region every call goes to, e.g. `eu-west-1`. */
  region: regionName,
  /** Instances that `sh`/`powershell` steps run on (at most 50: SendCommand's limit). */
  instance_ids: z.array(instanceId).min(1).max(50).optional(),
  /** Or: run on the running instances carrying all these tags (resolved with DescribeInstances). */
  tags: z.record(tagText, tagText).optional(),
  /** `sh` steps run AWS-RunShellScript, `powershell` steps AWS-RunPowerShellScript; `platform` picks a defaulted step's. */
  platform: z.enum(["linux", "windows"]).default("linux"),
  /** The directory commands start in on the instance. */
  working_directory: z.string().min(1).max(512).optional(),
  /** Also write the full output to this S3 bucket (SSM keeps only the first 24,000 characters). */
  output_s3_bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name")
    .optional(),
  /** Key prefix for the S3 output. */
  output_s3_prefix: z.string().min(1).max(512).optional(),
  /** An endpoint for every service (a VPC endpoint, or an emulator in tests). */
  endpoint: endpoint.optional(),
  /** Per-service endpoints, overriding `endpoint`. */
  endpoints: z
    .strictObject({ ec2: endpoint, ssm: endpoint, sts: endpoint, autoscaling: endpoint })
    .partial()
    .optional(),
  /**
   * The actions this connection's steps use: the health check dry-runs each one EC2 can dry-run
   * (on `instance_ids`) and checks the SSM agent of each target for `run-command`. Default all.
   */
  actions: z.array(z.enum(awsActions)).min(1).optional(),
});

/** The connection options, parsed. */
export type AwsConnectionOptions = z.output<typeof awsConnectionOptionsSchema>;

const accessKeyId = z.string().regex(/^[A-Z0-9]{16,128}$/, "must be an AWS access key id such as AKIA…");
const roleArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, "must be an IAM role ARN");

/**
 * The credential types the AWS connector accepts: an access key (optionally with a session token),
 * a role to assume with STS (from an access key or from the server's own default credentials),
 * or the default provider chain (environment, shared config, instance or task role) when the
 * server runs on AWS.
 */
export const awsCredentialTypes = {
  aws_access_key: z
    .object({
      access_key_id: accessKeyId.describe("The access key id (AKIA… or ASIA…)"),
      secret_access_key: secret(z.string().min(16)).describe("The secret access key"),
      session_token: secret(z.string().min(16))
        .optional()
        .describe("A session token, for temporary credentials (ASIA…)"),
    })
    .describe("An AWS access key"),
  aws_assume_role: z
    .object({
      role_arn: roleArn.describe("The role to assume, e.g. arn:aws:iam::123456789012:role/runwarden"),
      external_id: z
        .string()
        .regex(/^[\w+=,.@:/-]{2,1224}$/, "must be 2–1224 characters of letters, digits and +=,.@:/-")
        .optional()
        .describe("The external id the role's trust policy requires"),
      session_name: z
        .string()
        .regex(/^[\w+=,.@-]{2,64}$/)
        .default("runwarden")
        .describe("The role session name (shown in CloudTrail)"),
      duration_seconds: z.number().int().min(900).max(43_200).default(3_600),
      access_key_id: accessKeyId
        .optional()
        .describe("The key that assumes the role; absent: the server's default credentials"),
      secret_access_key: secret(z.string().min(16)).optional().describe("Its secret access key"),
    })
    .refine((c) => (c.access_key_id === undefined) === (c.secret_access_key === undefined), {
      message: "give both access_key_id and secret_access_key, or neither (the default chain)",
    })
    .describe("An IAM role assumed with STS AssumeRole"),
  aws_default_chain: z
    .object({})
    .describe("The server's own AWS credentials (environment, shared config, instance or task role)"),
};

/** A connection as the AWS connector receives it, its credential typed. */
export type AwsConnection = ResolvedConnection<CredentialOf<typeof awsCredentialTypes>>;
