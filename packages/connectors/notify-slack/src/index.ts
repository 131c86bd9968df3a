/** `@runwarden/connector-notify-slack`: the Slack notifier (Block Kit, signed interactivity). */
export {
  default,
  SlackNotifierConfig,
  slackBlocks,
  slackNotifier,
  verifySlackSignature,
} from "./connector.js";
