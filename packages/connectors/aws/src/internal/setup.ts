/**
 * The AWS-side set-up, for the Connectors tab: a least-privilege IAM policy for the actions, the
 * role's trust policy with an external id, and the instance profile the SSM agent needs.
 */
import type { VendorSetupStep } from "@runwarden/core";

/** The least-privilege policy (the README shows the same document). */
export const awsPolicy = {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "RunwardenIdentityAndRead",
      Effect: "Allow",
      Action: ["ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "ssm:DescribeInstanceInformation"],
      Resource: "*",
    },
    {
      Sid: "RunwardenInstanceActions",
      Effect: "Allow",
      Action: ["ec2:RebootInstances", "ec2:StopInstances", "ec2:StartInstances"],
      Resource: "arn:aws:ec2:eu-west-1:123456789012:instance/*",
      Condition: { StringEquals: { "aws:ResourceTag/runwarden": "managed" } },
    },
    {
      Sid: "RunwardenRunCommandOnTaggedInstances",
      Effect: "Allow",
      Action: "ssm:SendCommand",
      Resource: "arn:aws:ec2:eu-west-1:123456789012:instance/*",
      Condition: { StringEquals: { "aws:ResourceTag/runwarden": "managed" } },
    },
    {
      Sid: "RunwardenRunCommandDocuments",
      Effect: "Allow",
      Action: "ssm:SendCommand",
      Resource: [
        "arn:aws:ssm:eu-west-1::document/AWS-RunShellScript",
        "arn:aws:ssm:eu-west-1::document/AWS-RunPowerShellScript",
      ],
    },
    {
      Sid: "RunwardenCommandResults",
      Effect: "Allow",
      Action: ["ssm:GetCommandInvocation", "ssm:CancelCommand"],
      Resource: "*",
    },
    {
      Sid: "RunwardenInstanceRefresh",
      Effect: "Allow",
      Action: [
        "autoscaling:StartInstanceRefresh",
        "autoscaling:DescribeInstanceRefreshes",
        "autoscaling:CancelInstanceRefresh",
      ],
      Resource: "*",
    },
  ],
};

const trust = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { AWS: "arn:aws:iam::111122223333:role/runwarden-server" },
      Action: "sts:AssumeRole",
      Condition: { StringEquals: { "sts:ExternalId": "<external id>" } },
    },
  ],
};

/** The steps, in order. */
export function awsSetup(): readonly VendorSetupStep[] {
  return [
    {
      title: "Give the instances the SSM agent's role",
      text: "Run Command needs the SSM agent running and registered: attach an instance profile with the AWS managed policy AmazonSSMManagedInstanceCore, and tag the instances Runwarden may act on runwarden=managed.",
      snippet: {
        language: "text",
        content:
          "aws iam attach-role-policy --role-name ec2-ssm --policy-arn arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
      },
    },
    {
      title: "Create the policy Runwarden uses (least privilege)",
      text: "Replace the region and account; drop the statements of actions your runbooks do not use. The connection's Test dry-runs the EC2 actions and checks the targets' SSM agents.",
      snippet: { language: "json", content: JSON.stringify(awsPolicy, null, 2) },
    },
    {
      title: "Assume it as a role with an external id (recommended)",
      text: "Attach the policy to a role with this trust policy, and store an aws_assume_role credential with the role ARN and the external id. Or store an access key (aws_access_key), or use the server's own role (aws_default_chain).",
      snippet: { language: "json", content: JSON.stringify(trust, null, 2) },
    },
  ];
}
