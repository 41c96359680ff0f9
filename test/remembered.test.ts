/**
 * The bounded memo behind the kept Durable Object ids, time zone names and
 * calendar formatters: a value is computed once per key while it is kept,
 * the oldest key goes first past the limit, and a throw is not kept.
 */
import { describe, expect, it } from "vitest";
import { remembered } from "../src/remembered";

describe("remembered", () => {
  it("computes a key once while it is kept, and forgets the oldest past the limit", () => {
    const computed: string[] = [];
    const upper = remembered(2, (key) => {
      computed.push(key);
      return key.toUpperCase();
    });
    expect([upper("a"), upper("b"), upper("a")]).toEqual(["A", "B", "A"]);
    expect(computed).toEqual(["a", "b"]);
    upper("c"); // "a" is the oldest: forgotten
    expect([upper("b"), upper("a")]).toEqual(["B", "A"]);
    expect(computed).toEqual(["a", "b", "c", "a"]);
  });

  it("keeps undefined answers, and no failure", () => {
    let calls = 0;
    const lookup = remembered(10, (key) => {
      calls++;
      if (key === "bad") throw new Error("bad key");
      return key === "none" ? undefined : key;
    });
    expect(lookup("none")).toBeUndefined();
    expect(lookup("none")).toBeUndefined();
    expect(() => lookup("bad")).toThrow("bad key");
    expect(() => lookup("bad")).toThrow("bad key");
    expect(calls).toBe(3);
  });
});
