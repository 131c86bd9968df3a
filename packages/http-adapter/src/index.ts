/**
 * @runwarden/http-adapter: the documented REST API (`/api/v1`) over a Runwarden engine, as a
 * Fetch-standard handler with adapters for node:http, Express and Fastify.
 */
export {
  type AuthenticateHook,
  createHttpAdapter,
  type EventStreamOptions,
  type GenericWebhookOptions,
  type HostIdentity,
  type HttpAdapter,
  type HttpAdapterOptions,
  type HttpLimits,
} from "./adapter.js";
export {
  expressMiddleware,
  fastifyPlugin,
  type NodeHandler,
  type NodeHandlerOptions,
  toNodeHandler,
} from "./node.js";
export {
  type CreateTokenInput,
  createTokenStore,
  generateToken,
  hashToken,
  hasRole,
  minTokenLength,
  type TokenInfo,
  type TokenStore,
  type TokenStoreOptions,
  tokenRoles,
} from "./tokens.js";
