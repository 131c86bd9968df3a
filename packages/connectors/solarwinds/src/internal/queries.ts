/**
 * The SWQL the connector sends, in one place: every value is a bound parameter (`@name`), never
 * text spliced into the query. Entities and properties are those of OrionSDK's schema pages
 * (`Orion.AlertActive`, `Orion.AlertObjects`, `Orion.AlertConfigurations`, `Orion.Nodes`,
 * `Orion.AlertHistory`); the join path is the one `docs/alerts.md` recommends.
 */

/** `WITH ROWS first TO last WITH TOTALROWS` for 1-based page `page` of `size` rows. */
export function withRows(page: number, size: number): string {
  const first = page * size + 1;
  return `WITH ROWS ${first} TO ${first + size - 1} WITH TOTALROWS`;
}

/** Active alerts with their object, definition (name, severity) and related node, by AlertActiveID. */
export const activeAlerts =
  "SELECT aa.AlertActiveID, aa.AlertObjectID, aa.TriggeredDateTime, aa.TriggeredMessage, " +
  "aa.Acknowledged, aa.AcknowledgedBy, aa.AcknowledgedDateTime, " +
  "ao.AlertID, ao.EntityUri, ao.EntityType, ao.EntityCaption, ao.EntityDetailsUrl, " +
  "ao.RelatedNodeId, ao.RelatedNodeCaption, " +
  "ac.Name AS AlertName, ac.Severity, " +
  "n.Caption AS NodeCaption, n.DNS AS NodeDNS, n.IPAddress AS NodeIPAddress " +
  "FROM Orion.AlertActive aa " +
  "INNER JOIN Orion.AlertObjects ao ON aa.AlertObjectID = ao.AlertObjectID " +
  "INNER JOIN Orion.AlertConfigurations ac ON ao.AlertID = ac.AlertID " +
  "LEFT JOIN Orion.Nodes n ON ao.RelatedNodeId = n.NodeID " +
  "ORDER BY aa.AlertActiveID";

/**
 * Alerts that reset (EventType 1) or were cleared (8) since `@since`, from the history log (a row
 * of `Orion.AlertActive` is deleted when its alert resets).
 */
export const alertResets =
  "SELECT ah.AlertHistoryID, ah.AlertObjectID, ah.EventType, ah.Timestamp, " +
  "ao.EntityCaption, ao.EntityType, ao.EntityUri, ao.RelatedNodeCaption, " +
  "ac.Name AS AlertName, ac.Severity " +
  "FROM Orion.AlertHistory ah " +
  "INNER JOIN Orion.AlertObjects ao ON ah.AlertObjectID = ao.AlertObjectID " +
  "INNER JOIN Orion.AlertConfigurations ac ON ao.AlertID = ac.AlertID " +
  "WHERE ah.EventType IN @resetTypes AND ah.Timestamp >= @since " +
  "ORDER BY ah.AlertHistoryID";

/** The event types of `Orion.AlertHistory` that end an alert: 1 reset, 8 cleared. */
export const resetEventTypes = [1, 8] as const;

/** Whether one alert object is active, acknowledged, and what notes it has (`@id`). */
export const alertState =
  "SELECT aa.AlertActiveID, aa.Acknowledged, ao.AlertNote " +
  "FROM Orion.AlertActive aa " +
  "INNER JOIN Orion.AlertObjects ao ON aa.AlertObjectID = ao.AlertObjectID " +
  "WHERE aa.AlertObjectID = @id";

/** The health check: one row of one documented entity proves the endpoint and the account. */
export const health =
  "SELECT ac.AlertID FROM Orion.AlertConfigurations ac ORDER BY ac.AlertID WITH ROWS 1 TO 1";
