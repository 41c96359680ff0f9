/**
 * The log's safety net against tokens: JWT-shaped text is redacted, string
 * fields are capped, and redaction does work linear in the input (issue 12:
 * the old regex backtracked quadratically on `eyJeyJ…`). Work is counted in
 * loop turns, never timed.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { log, MAX_LOGGED_STRING, redactTokens } from "../../src/log";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

function stepsFor(text: string): number {
  const work = { steps: 0 };
  redactTokens(text, work);
  return work.steps;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("redactTokens", () => {
  it.each([
    [`verify failed for ${JWT} now`, "verify failed for [redacted] now"],
    [`/api/meetings/x/calendar.ics?token=${JWT}`, "/api/meetings/x/calendar.ics?token=[redacted]"],
    [`Bearer ${JWT}`, "Bearer [redacted]"],
    [`a ${JWT} and b ${JWT}`, "a [redacted] and b [redacted]"],
    // A cut-off token (header and part of the payload) is still redacted.
    ["token eyJhbGciOiJIUzI1NiJ9.eyJzdW", "token [redacted]"],
  ])("redacts %s", (input, expected) => {
    expect(redactTokens(input)).toBe(expected);
  });

  it("leaves text without a token alone", () => {
    for (const text of ["meeting 3f2a.b1 joined", "eyJ alone", "version 1.2.3", ""]) {
      expect(redactTokens(text)).toBe(text);
    }
  });

  it("does work proportional to the input on the pathological eyJeyJ… input", () => {
    for (const unit of ["eyJ", "eyJ.", "eyJ-"]) {
      const small = stepsFor(unit.repeat(4_000));
      const double = stepsFor(unit.repeat(8_000));
      const quadruple = stepsFor(unit.repeat(16_000));
      // Linear: doubling the input doubles the work (plus one turn for the end of the text).
      expect(double - 1).toBe(2 * (small - 1));
      expect(quadruple - 1).toBe(4 * (small - 1));
      expect(small).toBe(unit.length * 4_000 + 1);
    }
  });
});

describe("log", () => {
  it("caps a long string field before writing it", () => {
    const lines: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((line: string) => lines.push(line));
    log("warn", "test.long", { path: `/api/${"eyJ".repeat(20_000)}` });
    const written = JSON.parse(lines[0] ?? "{}") as { path: string };
    expect(written.path.length).toBeLessThan(MAX_LOGGED_STRING + 40);
    expect(written.path).toMatch(/more chars\]$/);
  });
});
