/**
 * The bounded caches behind the kept Durable Object ids, time zone names,
 * calendar formatters, verified tokens and rate-limit windows: a key
 * written again moves to the end, the oldest goes first past the limit, a
 * remembered value is computed once per key while it is kept, and a throw
 * is not kept.
 */
import { describe, expect, it } from "vitest";
import { remembered, setBounded } from "../../src/lib/remembered";

describe("setBounded", () => {
  it("moves a key written again to the end and forgets the oldest past the limit", () => {
    const map = new Map<string, number>();
    setBounded(map, "a", 1, 2);
    setBounded(map, "b", 2, 2);
    setBounded(map, "a", 3, 2); // "a" is now the newest
    setBounded(map, "c", 4, 2); // so "b" goes
    expect([...map]).toEqual([
      ["a", 3],
      ["c", 4],
    ]);
  });
});

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
