import { describe, expect, it } from "vitest";
import {
  isNetworkErrorCode,
  type SqlDialect,
  sqlConnectionError,
  sqlFailureReason,
  sqlHealthCheck,
  sqlHealthFailure,
} from "../src/sql-errors.js";

const dialect: SqlDialect = {
  engine: "AcmeSQL",
  authCodes: ["28P01", "28000"],
  missingDatabaseCode: "3D000",
  tooManyConnectionsCode: "53300",
  codeField: "sqlstate",
};
const target = { host: "db1", port: 5432, database: "app" };
const driverError = (code: string | undefined, message = "boom") =>
  Object.assign(new Error(message), { code });

describe("isNetworkErrorCode", () => {
  it("is true for socket-level codes only", () => {
    for (const code of ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ENOTFOUND", "PROTOCOL_CONNECTION_LOST"]) {
      expect(isNetworkErrorCode(code)).toBe(true);
    }
    expect(isNetworkErrorCode("28P01")).toBe(false);
    expect(isNetworkErrorCode(undefined)).toBe(false);
  });
});

describe("sqlFailureReason", () => {
  it.each([
    ["ENOTFOUND", "DNS"],
    ["EAI_AGAIN", "DNS"],
    ["ECONNREFUSED", "refused"],
    ["28P01", "auth"],
    ["28000", "auth"],
    ["3D000", "database"],
    ["ETIMEDOUT", "timeout"],
    ["ECONNRESET", "unreachable"],
    ["EHOSTUNREACH", "unreachable"],
    ["42601", "protocol"],
  ])("reads %s as %s", (code, reason) => {
    expect(sqlFailureReason(driverError(code), dialect)).toBe(reason);
  });

  it("reads a timeout from the message when there is no code", () => {
    expect(sqlFailureReason(driverError(undefined, "Connection timeout"), dialect)).toBe("timeout");
    expect(sqlFailureReason(driverError(undefined), dialect)).toBe("protocol");
    expect(sqlFailureReason(null, dialect)).toBe("protocol");
  });
});

describe("sqlConnectionError", () => {
  it.each([
    ["28P01", "RW_ERR_CONNECTOR_AUTH", "AcmeSQL db1:5432/app refused the credential"],
    ["3D000", "RW_ERR_CONNECTOR_NOT_FOUND", "AcmeSQL database app does not exist on db1:5432"],
    ["ETIMEDOUT", "RW_ERR_CONNECTOR_TIMEOUT", "connecting to AcmeSQL db1:5432/app timed out"],
    ["53300", "RW_ERR_CONNECTOR_RATE_LIMITED", "AcmeSQL db1:5432/app has too many connections"],
    ["ECONNREFUSED", "RW_ERR_CONNECTOR_UNREACHABLE", "cannot reach AcmeSQL db1:5432/app (refused)"],
    ["XX000", "RW_ERR_CONNECTOR_UNREACHABLE", "cannot reach AcmeSQL db1:5432/app (protocol)"],
  ])("maps %s to %s", (code, rwCode, message) => {
    const cause = driverError(code);
    const error = sqlConnectionError(cause, target, dialect);
    expect(error.code).toBe(rwCode);
    expect(error.message).toBe(message);
    expect(error.cause).toBe(cause);
    expect(error.details).toMatchObject({ host: "db1", port: 5432, database: "app", sqlstate: code });
  });

  it("leaves out the database and the driver code when there are none", () => {
    const error = sqlConnectionError(new Error("closed"), { ...target, database: undefined }, dialect);
    expect(error.message).toBe("cannot reach AcmeSQL db1:5432 (protocol)");
    expect(error.details).toEqual({ reason: "protocol", host: "db1", port: 5432, database: null });
  });

  it("keeps retryable codes retryable and the credential ones final", () => {
    expect(sqlConnectionError(driverError("ECONNRESET"), target, dialect).retryable).toBe(true);
    expect(sqlConnectionError(driverError("28P01"), target, dialect).retryable).toBe(false);
  });
});

describe("sqlHealthFailure", () => {
  it("takes the reason of a mapped error, else reads the driver error", () => {
    const mapped = sqlConnectionError(driverError("28P01"), target, dialect);
    expect(sqlHealthFailure(mapped, 3.5, dialect)).toEqual({
      ok: false,
      latencyMs: 3.5,
      reason: "auth",
      message: "AcmeSQL db1:5432/app refused the credential",
    });
    expect(sqlHealthFailure(driverError("ECONNREFUSED", "refused"), 1, dialect)).toEqual({
      ok: false,
      latencyMs: 1,
      reason: "refused",
      message: "refused",
    });
  });
});

describe("sqlHealthCheck", () => {
  it("is ok with the latency when the probe resolves", async () => {
    const result = await sqlHealthCheck(dialect, async () => {});
    expect(result.ok).toBe(true);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("returns the failure with its reason, never throwing, when the probe fails", async () => {
    const result = await sqlHealthCheck(dialect, async () => {
      throw Object.assign(new Error("password authentication failed"), { code: "28P01" });
    });
    expect(result).toMatchObject({ ok: false, reason: "auth", message: "password authentication failed" });
  });
});
