/**
 * The running @runwarden/core version. Connectors declare the core range they support (`sdk`);
 * the registry checks it against this. A unit test keeps it equal to package.json's `version`.
 */
export const coreVersion = "0.1.0";
