export { parseConnectionOptions, releasableHandle } from "./connection.js";
export {
  apiHealthFailure,
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
  retryAfterMs,
} from "./http-client.js";
export { poolKey } from "./pool-key.js";
export {
  type SqlConfig,
  type SqlConnectionOptions,
  sqlConfigSchema,
  sqlConnectionOptionsSchema,
} from "./sql-config.js";
export {
  describeSql,
  isLoopbackHost,
  type JoinParts,
  resolveSqlLogin,
  type SqlConnection,
  type SqlCredential,
  type SqlLogin,
  sqlCredentialTypes,
  sqlStatement,
} from "./sql-connection.js";
export {
  isNetworkErrorCode,
  type SqlDialect,
  type SqlFailureReason,
  type SqlTarget,
  sqlConnectionError,
  sqlFailureReason,
  sqlHealthCheck,
  sqlHealthFailure,
} from "./sql-errors.js";
export { jsonSafe, type RenderTableOptions, renderTable } from "./sql-render.js";
export {
  checkoutSqlSession,
  runSqlStep,
  type SqlDriver,
  type SqlSession,
  type SqlStatementResult,
  sqlAbortError,
} from "./sql-step.js";
export { readTemplateBody } from "./template-body.js";
export { parseTypedStep, stepDuration, type TypedStepOptions } from "./typed-step.js";
export { clip, header, issueFields, parseInput, safeEqual, webhookBody } from "./webhook-input.js";
