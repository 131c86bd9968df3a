import { describe, expect, it } from "vitest";
import { isRunwardenError } from "../src/errors.js";
import { clampLimit, documentNotFound, notFound, pageOf } from "../src/storage-kit.js";

describe("storage-kit paging and not-found helpers", () => {
  it("pages a listing that asked for one more than the limit, with the last shown id as cursor", () => {
    const items = [{ id: 9 }, { id: 7 }, { id: 4 }];
    expect(pageOf(items, 2)).toEqual({ items: [{ id: 9 }, { id: 7 }], nextCursor: 7 });
    expect(pageOf(items, 3)).toEqual({ items, nextCursor: null });
    expect(pageOf([], 5)).toEqual({ items: [], nextCursor: null });
  });

  it("clamps a listing's limit to a whole number within its bounds", () => {
    expect(clampLimit(undefined)).toBe(50);
    expect(clampLimit(0)).toBe(1);
    expect(clampLimit(-3)).toBe(1);
    expect(clampLimit(12.9)).toBe(12);
    expect(clampLimit(10_000)).toBe(500);
    expect(clampLimit(undefined, 100, 1000)).toBe(100);
    expect(clampLimit(5_000, 100, 1000)).toBe(1000);
  });

  it("builds one not-found error with the entity and id as details, in the API's wording", () => {
    const plain = notFound("session", 12);
    expect(isRunwardenError(plain)).toBe(true);
    expect(plain).toMatchObject({
      code: "RW_ERR_STORAGE_NOT_FOUND",
      message: "no session with id 12",
      details: { entity: "session", id: 12 },
    });
    expect(notFound("ticket", 3, "ticket 3 does not exist").message).toBe("ticket 3 does not exist");
    expect(documentNotFound("steps", 4)).toMatchObject({
      code: "RW_ERR_STORAGE_NOT_FOUND",
      message: "No steps document with this id",
      details: { entity: "steps", id: 4 },
    });
  });
});
