export { createTestContext, type TestContext } from "./context.js";
export { type ContractOperation, type ContractOptions, testConnector } from "./contract.js";
export { createFakeClock, type FakeClock } from "./fake-clock.js";
export { decodePowerShellLiteral, type FakePowerShellResult, fakePowerShell } from "./fake-powershell.js";
export {
  type FakeHandler,
  type FakeRequest,
  type FakeResponse,
  type FakeServer,
  fakeServer,
} from "./fake-server.js";
export { type MonitoringWebhookContractOptions, testMonitoringWebhooks } from "./monitoring-contract.js";
export { type NotifierContractOptions, sampleNotification, testNotifier } from "./notifier-contract.js";
export { type TicketingIdempotencyOptions, testTicketingIdempotency } from "./ticketing-contract.js";
