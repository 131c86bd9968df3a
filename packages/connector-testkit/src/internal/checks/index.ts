/**
 * The contract rules as plain async functions, one file per area: each returns when the connector
 * keeps the rule and throws a ContractViolation naming the rule when it does not. The suites' `it`
 * blocks call them, and the testkit's own tests call them on deliberately broken connectors.
 */
export * from "./declaration.js";
export * from "./health.js";
export * from "./infrastructure.js";
export * from "./operations.js";
export * from "./secrets.js";
export * from "./setup.js";
export * from "./shared.js";
export * from "./ticketing.js";
export * from "./webhooks.js";
