/**
 * The Zabbix webhook media type that sends problems, recoveries and updates to Runwarden: its
 * JavaScript, its parameters (Zabbix macros) and the YAML export users import in Zabbix
 * (Alerts → Media types → Import). The package ships the same export as
 * `media/runwarden-media-type.yaml`; a test keeps the two identical.
 */
import { stringify } from "yaml";

/** The media type's name in Zabbix. */
export const mediaTypeName = "Runwarden";

/**
 * The media type's script (Zabbix runs it in Duktape, ES5). It forwards every parameter except
 * `URL`, `Secret` and `HTTPProxy` as one JSON object, with `Authorization: Bearer <Secret>`, and
 * fails the alert (Zabbix retries it) unless Runwarden answers 2xx.
 */
export const mediaTypeScript = `var params = JSON.parse(value);
var url = params.URL;
var secret = params.Secret;
if (typeof url !== 'string' || !/^https?:\\/\\//.test(url)) {
    throw 'Runwarden: set the URL parameter to the webhook URL of your Runwarden server';
}
if (typeof secret !== 'string' || secret.length < 16 || secret.charAt(0) === '<') {
    throw 'Runwarden: set the Secret parameter to the shared secret (16 characters or more)';
}
var body = {};
for (var name in params) {
    if (params.hasOwnProperty(name) && name !== 'URL' && name !== 'Secret' && name !== 'HTTPProxy') {
        body[name] = params[name];
    }
}
var request = new HttpRequest();
if (typeof params.HTTPProxy === 'string' && params.HTTPProxy !== '') {
    request.setProxy(params.HTTPProxy);
}
request.addHeader('Content-Type: application/json');
request.addHeader('Authorization: Bearer ' + secret);
var response = request.post(url, JSON.stringify(body));
var status = request.getStatus();
Zabbix.log(4, '[Runwarden webhook] event ' + body['EVENT.ID'] + ': HTTP ' + status);
if (status < 200 || status >= 300) {
    throw 'Runwarden answered HTTP ' + status + ': ' + String(response).substring(0, 200);
}
return 'OK';
`;

/** The macros the media type sends, by payload key (the key is the macro's name). */
export const mediaTypeMacros = [
  "EVENT.ID",
  "EVENT.NAME",
  "EVENT.NSEVERITY",
  "EVENT.SEVERITY",
  "EVENT.STATUS",
  "EVENT.VALUE",
  "EVENT.DATE",
  "EVENT.TIME",
  "EVENT.TAGSJSON",
  "EVENT.OPDATA",
  "EVENT.ACK.STATUS",
  "EVENT.UPDATE.STATUS",
  "EVENT.UPDATE.ACTION",
  "EVENT.RECOVERY.ID",
  "TRIGGER.ID",
  "HOST.NAME",
  "HOST.HOST",
  "HOST.IP",
  "ALERT.SUBJECT",
  "ALERT.MESSAGE",
] as const;

/** Placeholders of the two parameters the user fills in after importing. */
export const mediaTypePlaceholders = {
  url: "<the webhook URL of your Runwarden server>",
  secret: "<the shared secret: webhookAuth.secret of the zabbix connector>",
} as const;

/**
 * The media type as a Zabbix 6.0 YAML export (7.0 imports it too, converting it). `url` fills
 * the `URL` parameter; the `Secret` parameter is always a placeholder, never a secret.
 */
export function mediaTypeYaml(options: { url?: string } = {}): string {
  const parameters = [
    { name: "URL", value: options.url ?? mediaTypePlaceholders.url },
    { name: "Secret", value: mediaTypePlaceholders.secret },
    { name: "HTTPProxy", value: "" },
    ...mediaTypeMacros.map((macro) => ({ name: macro, value: `{${macro}}` })),
    // A global macro most Zabbix set-ups define for their stock media types (absent: left out).
    { name: "ZABBIX.URL", value: "{$ZABBIX.URL}" },
  ];
  const template = (mode: "PROBLEM" | "RECOVERY" | "UPDATE", subject: string) => ({
    event_source: "TRIGGERS",
    operation_mode: mode,
    subject,
    message: "{EVENT.NAME} on {HOST.NAME} ({EVENT.SEVERITY})",
  });
  return stringify(
    {
      zabbix_export: {
        version: "6.0",
        media_types: [
          {
            name: mediaTypeName,
            type: "WEBHOOK",
            parameters,
            script: mediaTypeScript,
            timeout: "10s",
            description:
              "Sends Zabbix problems, recoveries and updates to Runwarden (approval-gated auto-remediation). Set URL and Secret after importing.",
            message_templates: [
              template("PROBLEM", "Problem: {EVENT.NAME}"),
              template("RECOVERY", "Resolved: {EVENT.NAME}"),
              template("UPDATE", "Updated: {EVENT.NAME}"),
            ],
          },
        ],
      },
    },
    { lineWidth: 0 },
  );
}
