export { default, GrafanaConfig, type GrafanaConfigInput } from "./grafana.js";
