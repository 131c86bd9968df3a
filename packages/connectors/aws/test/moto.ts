/**
 * Starts a real `moto_server` (moto 5.2.1, an AWS API emulator; preinstalled in the pyenv Python,
 * see scripts/services/moto.sh) on a free loopback port for one test file, and stops it after.
 * `initialNoAuthActions` turns on moto's IAM enforcement after that many unauthenticated calls.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";

export interface Moto {
  endpoint: string;
  close(): Promise<void>;
}

/** Spawns moto_server on port 0 and resolves once it says where it listens. */
export function startMoto(options: { initialNoAuthActions?: number } = {}): Promise<Moto> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn("moto_server", ["-H", "127.0.0.1", "-p", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        // With a count, moto enforces IAM after that many requests: unknown keys are refused and
        // each call is checked against the caller's policies (dry runs included).
        ...(options.initialNoAuthActions !== undefined
          ? { INITIAL_NO_AUTH_ACTION_COUNT: String(options.initialNoAuthActions) }
          : {}),
      },
    });
    let seen = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`moto_server did not start within 60 s: ${seen.slice(-500)}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.removeAllListeners("data");
      child.stderr?.removeAllListeners("data");
      child.stdout?.resume();
      child.stderr?.resume();
      resolve({
        endpoint: match[1]!,
        close: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once("exit", () => done());
            child.kill("SIGTERM");
          }),
      });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(
        new Error(
          `moto_server could not be started (is moto 5.2.1 installed? see scripts/services/moto.sh): ${error.message}`,
        ),
      );
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`moto_server exited with ${code} before listening: ${seen.slice(-500)}`));
    });
  });
}

/**
 * Creates an IAM user allowed exactly `actions` in moto, with an access key, using the
 * preinstalled boto3 (the JS side has no IAM client among its dependencies). Call it before the
 * unauthenticated-call allowance runs out (it makes three calls).
 */
export function createIamUser(
  moto: Moto,
  name: string,
  actions: readonly string[],
): { accessKeyId: string; secretAccessKey: string } {
  const script = `
import boto3, json, os
iam = boto3.client("iam", endpoint_url=os.environ["MOTO"], region_name="us-east-1",
                   aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40)
iam.create_user(UserName=os.environ["NAME"])
iam.put_user_policy(UserName=os.environ["NAME"], PolicyName="runwarden", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": json.loads(os.environ["ACTIONS"]), "Resource": "*"}]}))
key = iam.create_access_key(UserName=os.environ["NAME"])["AccessKey"]
print(json.dumps({"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}))
`;
  const out = execFileSync("python3", ["-c", script], {
    encoding: "utf8",
    env: { ...process.env, MOTO: moto.endpoint, NAME: name, ACTIONS: JSON.stringify(actions) },
  });
  return JSON.parse(out) as { accessKeyId: string; secretAccessKey: string };
}

/** Launches one instance in moto's EC2 (region eu-west-1, moto's stock AMI) and returns its id. */
export async function launchInstance(
  moto: Moto,
  credentials: { accessKeyId: string; secretAccessKey: string },
  tags: Record<string, string> = {},
): Promise<string> {
  const { EC2Client, RunInstancesCommand } = await import("@aws-sdk/client-ec2");
  const ec2 = new EC2Client({ region: "eu-west-1", endpoint: moto.endpoint, credentials });
  const entries = Object.entries(tags);
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: "ami-12c6146b",
      MinCount: 1,
      MaxCount: 1,
      ...(entries.length > 0
        ? {
            TagSpecifications: [
              { ResourceType: "instance", Tags: entries.map(([Key, Value]) => ({ Key, Value })) },
            ],
          }
        : {}),
    }),
  );
  ec2.destroy();
  return run.Instances![0]!.InstanceId!;
}
