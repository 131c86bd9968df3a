import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { LineQueue, type Message } from "../src/index.js";

describe("LineQueue", () => {
  it("hands each JSON line to the consumer one at a time, in order, and dead-letters what is not JSON", async () => {
    const input = new PassThrough();
    const dead: string[] = [];
    const queue = new LineQueue<Message>(input, { onDeadLetter: (d) => dead.push(d.line) });
    const seen: string[] = [];
    let busy = 0;
    let overlapped = false;
    queue.consume(async (message) => {
      if (++busy > 1) overlapped = true;
      await new Promise((r) => setTimeout(r, 5));
      seen.push(message.type === "alert" ? String((message.body as { title: string }).title) : "decision");
      busy--;
    });
    input.write('{"type":"alert","body":{"title":"one"}}\n\n{not json}\n');
    input.write(
      '{"type":"alert","body":{"title":"two"}}\r\n{"type":"decision","approvalId":1,"approve":true,"by":"x"}\n',
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual(["one", "two", "decision"]);
    expect(overlapped).toBe(false);
    expect(dead).toEqual(["{not json}"]);
    expect(queue.deadLetters).toHaveLength(1);
  });

  it("close() waits for the message being handled and reads nothing after", async () => {
    const input = new PassThrough();
    const queue = new LineQueue<Message>(input);
    const seen: string[] = [];
    let release!: () => void;
    queue.consume(async (message) => {
      if (message.type === "alert") await new Promise<void>((r) => (release = r));
      seen.push(message.type);
    });
    input.write('{"type":"alert","body":{}}\n');
    await new Promise((r) => setTimeout(r, 20));
    const closed = queue.close();
    input.write('{"type":"decision","approvalId":1,"approve":true,"by":"x"}\n');
    let done = false;
    void closed.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    release();
    await closed;
    expect(seen).toEqual(["alert"]);
  });
});
