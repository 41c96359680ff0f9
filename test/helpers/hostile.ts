/**
 * Hostile input for the property-based tests: arbitrary JSON, wrong types,
 * huge and odd Unicode strings (lone surrogates, bidi overrides, control
 * characters), deep nesting, duplicate keys and random bytes; plus the one
 * check every answer must pass, the contract's error shape.
 */
import fc from "fast-check";
import { expect } from "vitest";
import { ERROR_STATUS } from "../../src/errors";

/** Runs per property: enough to explore, few enough that the suite stays fast on a shared machine. */
export const FUZZ_RUNS = 100;
/** Generous: a property's runs take seconds alone but much longer on a loaded two-core machine. */
export const FUZZ_TIMEOUT_MS = 180_000;

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));
const controlCharacter = fc
  .integer({ min: 0, max: 0x9f })
  .filter((c) => c < 0x20 || c >= 0x7f)
  .map((c) => String.fromCharCode(c));
const oddCharacter = fc.constantFrom(
  "\u202e", // right-to-left override
  "\u200b", // zero-width space
  "\ufeff", // byte order mark
  "\u3000", // ideographic space (trimmed by String#trim)
  "\u0301", // combining accent without a base
  "\ud83d\ude80", // a surrogate pair: fine
  "\u{1f468}\u200d\u{1f469}\u200d\u{1f467}", // a ZWJ family
  '"',
  "\\",
  "<script>",
  "%00",
);

/** Strings a careless server chokes on; mostly short, sometimes far over every limit. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
  {
    weight: 3,
    arbitrary: fc.string({
      unit: fc.oneof(
        fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }),
        loneSurrogate,
        controlCharacter,
        oddCharacter,
      ),
      maxLength: 30,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      " ",
      "   \t ",
      "null",
      "__proto__",
      "constructor",
      "0",
      "-1",
      "1e309",
      "NaN",
      "true",
    ),
  },
  // Huge: over the 200/80/2000-character field limits, and now and then over 64 KiB.
  { weight: 1, arbitrary: fc.tuple(oddCharacter, fc.integer({ min: 81, max: 25_000 })).map(([c, n]) => c.repeat(n)) },
);

/** Display text of every kind of Unicode, short enough to pass length limits: surrogate pairs, lone halves, marks, bidi. */
export const unicodeText: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: loneSurrogate },
    { weight: 1, arbitrary: oddCharacter },
  ),
  minLength: 1,
  maxLength: 12,
});

/** Numbers at the edges of JSON and of our integer fields. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -5, max: 3000 }),
  fc.constantFrom(0, -0, 0.5, 1.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324, 1e21),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, with hostile leaves and prototype-ish keys. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    hostileNumber,
    hostileString,
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(
      fc.oneof(hostileString, fc.constantFrom("__proto__", "constructor", "type", "data", "id")),
      tie("value"),
      {
        maxKeys: 5,
      },
    ),
  ),
})).value;

/** `[[[[…]]]]` this deep, as JSON text. */
export const deepNesting = fc
  .integer({ min: 64, max: 20_000 })
  .chain((depth) =>
    fc.constantFrom(`${"[".repeat(depth)}${"]".repeat(depth)}`, `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`),
  );

/**
 * A JSON object body built on `base` (a valid body): a field dropped, or set
 * to a hostile value, or an unknown field added. These reach deeper into
 * validation than pure noise does.
 */
export function mutatedObject(
  base: Record<string, unknown>,
  extraKeys: string[] = [],
): fc.Arbitrary<Record<string, unknown>> {
  const keys = [...Object.keys(base), ...extraKeys];
  return fc
    .array(fc.tuple(fc.constantFrom(...keys, "unknownField"), fc.option(hostileJson, { nil: undefined })), {
      minLength: 1,
      maxLength: 3,
    })
    .map((changes) => {
      const body: Record<string, unknown> = { ...base };
      for (const [key, value] of changes) {
        if (value === undefined) delete body[key];
        else body[key] = value;
      }
      return body;
    });
}

/** `{"k":1,"k":"two"}`: the same key twice, as JSON text (JSON.parse keeps the last). */
export function duplicateKeys(base: Record<string, unknown>): fc.Arbitrary<string> {
  const keys = Object.keys(base);
  return fc.tuple(fc.constantFrom(...keys), hostileJson).map(([key, value]) => {
    const fields = Object.entries(base).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    const text = JSON.stringify(value) ?? "null";
    return `{${JSON.stringify(key)}:${text},${fields.join(",")},${JSON.stringify(key)}:${text}}`;
  });
}

/**
 * A request body as sent on the wire: JSON of anything, a mutation of a valid
 * body, duplicate keys, broken or deeply nested JSON, or random bytes.
 */
export function hostileBody(
  base: Record<string, unknown>,
  extraKeys: string[] = [],
): fc.Arbitrary<string | Uint8Array> {
  const valid = JSON.stringify(base);
  return fc.oneof(
    { weight: 4, arbitrary: mutatedObject(base, extraKeys).map((body) => JSON.stringify(body)) },
    { weight: 2, arbitrary: hostileJson.map((value) => JSON.stringify(value) ?? "null") },
    { weight: 1, arbitrary: duplicateKeys(base) },
    { weight: 1, arbitrary: deepNesting },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: valid.length - 1 }).map((cut) => valid.slice(0, cut)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("", "{", "}", "[", "null", "{}", "[]", `\ufeff${valid}`, `${valid}garbage`),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) },
  );
}

/** Header values a client may send: printable ASCII, tabs and Latin-1, never CR, LF or NUL. */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "grapheme-ascii", maxLength: 60 }),
  fc.string({ unit: "binary-ascii", maxLength: 40 }).map((s) => s.replace(/[\0\r\n]/g, "")),
  fc.constantFrom('"1"', 'W/"1"', "*", "1", '"-1"', '"999999999999999999"', '"1", "2"', "Bearer", "Bearer ", "null"),
);

const KNOWN_CODES = Object.keys(ERROR_STATUS);

/**
 * The contract's promise for any response to any input: never a 500, and
 * every error carries exactly `{ error: { code, message, details? } }` with
 * the code's own status.
 */
export function expectContractAnswer(res: { status: number; body: any; headers: Headers }, context: string): void {
  const why = `${context} → ${res.status} ${JSON.stringify(res.body)?.slice(0, 500)}`;
  expect(res.status, why).not.toBe(500);
  expect(res.status, why).toBeLessThan(500);
  if (res.status < 400) return;
  expect(res.headers.get("content-type") ?? "", why).toMatch(/^application\/json/);
  expect(Object.keys(res.body ?? {}), why).toEqual(["error"]);
  expectErrorBody(res.body.error, why);
  expect(ERROR_STATUS[res.body.error.code as keyof typeof ERROR_STATUS], why).toBe(res.status);
  if (res.status === 429) expect(res.headers.get("retry-after"), why).toMatch(/^\d+$/);
}

/** `{ code, message, details? }` with a known code, a plain message and object details. */
export function expectErrorBody(error: any, why: string): void {
  expect(error, why).toBeTypeOf("object");
  expect(KNOWN_CODES, why).toContain(error.code);
  expect(error.code, why).not.toBe("INTERNAL");
  expect(error.message, why).toBeTypeOf("string");
  expect(error.message, why).not.toMatch(/\n\s+at |stack|JWT_SECRET=/);
  const extra = Object.keys(error).filter((key) => !["code", "message", "details"].includes(key));
  expect(extra, why).toEqual([]);
  if (error.details !== undefined) {
    expect(error.details, why).toBeTypeOf("object");
    expect(Array.isArray(error.details), why).toBe(false);
  }
}

/** A short printable form of a hostile input for failure messages. */
export function describeInput(input: unknown): string {
  if (input instanceof Uint8Array) return `bytes(${input.length})`;
  const text = typeof input === "string" ? input : JSON.stringify(input);
  return text && text.length > 300
    ? `${JSON.stringify(text.slice(0, 300))}… (${text.length} chars)`
    : JSON.stringify(text);
}
