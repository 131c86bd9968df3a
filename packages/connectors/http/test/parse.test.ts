import { describe, expect, it } from "vitest";
import { parseHttpStep } from "../src/internal/parse.js";

describe("parseHttpStep", () => {
  it("reads the request line, headers and body", () => {
    expect(
      parseHttpStep(
        "\n# restart\nPUT https://x.example/a?b=1 HTTP/1.1\nAccept: application/json\nX-A:  b \n\nline 1\nline 2\n\n",
      ),
    ).toEqual({
      method: "PUT",
      target: "https://x.example/a?b=1",
      headers: [
        ["Accept", "application/json"],
        ["X-A", "b"],
      ],
      body: "line 1\nline 2",
    });
  });

  it("has no body when nothing follows the headers", () => {
    expect(parseHttpStep("GET /health").body).toBeUndefined();
  });

  it.each([
    ["", "no request line"],
    ["get /x", "must be `METHOD URL`"],
    ["GET /x\nBad Header", "Name: value"],
    ["GET /x\nContent-Length: 5", "set by the connector"],
  ])("refuses %j", (text, message) => {
    expect(() => parseHttpStep(text)).toThrow(message);
  });
});
