/**
 * Structured logs: one JSON line per event, at or above LOG_LEVEL (set by
 * the request-log middleware and the meeting object from the config).
 * Never pass a token or secret in `fields`; ids and counts only. As a
 * safety net, string fields are capped and anything shaped like a JWT in
 * them is redacted, in time linear in the string's length, as is any secret
 * the configuration registered (create keys, which have no telltale shape).
 */
/** The lowest level written, from LOG_LEVEL (config.ts). */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** Longest string field written; the rest is cut before redaction, so a huge field costs nothing more. */
export const MAX_LOGGED_STRING = 2048;
const REDACTED = "[redacted]";

let threshold: LogLevel = "info";
/** Secrets of the configuration that no log line may carry; see `redactSecrets`. */
const registeredSecrets = new Set<string>();

/** Sets the lowest level written; called once the config is loaded. */
export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/**
 * Registers values that are replaced by `[redacted]` wherever a string field
 * holds them; for secrets of no recognisable shape (create keys).
 */
export function redactSecrets(secrets: Iterable<string>): void {
  for (const secret of secrets) if (secret.length > 0) registeredSecrets.add(secret);
}

/** A character of a base64url segment, or the dot between segments. */
function isTokenChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || // 0-9
    (code >= 65 && code <= 90) || // A-Z
    (code >= 97 && code <= 122) || // a-z
    code === 45 || // -
    code === 95 || // _
    code === 46 // .
  );
}

/**
 * Replaces every run of base64url characters and dots that holds `eyJ` (how
 * a JWT's JSON header starts) followed later by a dot: a JWT, or a cut-off
 * piece of one. One pass, each character looked at once: no backtracking,
 * unlike a regex over `eyJeyJeyJ…`. `work.steps` counts the loop's turns.
 * @example redactTokens("bad eyJhbGciOi.eyJzdWIi.c2ln here") // "bad [redacted] here"
 */
export function redactTokens(text: string, work: { steps: number } = { steps: 0 }): string {
  let out = "";
  let copiedUpTo = 0;
  let runStart = -1;
  let headerAt = -1;
  let dotAfterHeader = false;
  for (let i = 0; i <= text.length; i++) {
    work.steps++;
    const code = i < text.length ? text.charCodeAt(i) : -1;
    if (code !== -1 && isTokenChar(code)) {
      if (runStart < 0) runStart = i;
      if (headerAt < 0 && code === 101 && text.startsWith("eyJ", i)) headerAt = i;
      else if (headerAt >= 0 && code === 46) dotAfterHeader = true;
      continue;
    }
    if (dotAfterHeader) {
      out += text.slice(copiedUpTo, runStart) + REDACTED;
      copiedUpTo = i;
    }
    runStart = -1;
    headerAt = -1;
    dotAfterHeader = false;
  }
  return copiedUpTo === 0 ? text : out + text.slice(copiedUpTo);
}

/** A string field as it is written: capped, then redacted. */
function cleanString(value: string): string {
  const capped =
    value.length > MAX_LOGGED_STRING
      ? `${value.slice(0, MAX_LOGGED_STRING)}…[${value.length - MAX_LOGGED_STRING} more chars]`
      : value;
  let cleaned = capped.includes("eyJ") ? redactTokens(capped) : capped;
  for (const secret of registeredSecrets) {
    if (cleaned.includes(secret)) cleaned = cleaned.split(secret).join(REDACTED);
  }
  return cleaned;
}

function clean(fields: Record<string, unknown>): Record<string, unknown> {
  let cleaned = fields;
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value !== "string") continue;
    const written = cleanString(value);
    if (written === value) continue;
    if (cleaned === fields) cleaned = { ...fields };
    cleaned[key] = written;
  }
  return cleaned;
}

/**
 * @example log("info", "meeting.created", { meetingId })
 */
export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  if (RANK[level] < RANK[threshold]) return;
  const line = JSON.stringify({ level, event, time: new Date().toISOString(), ...clean(fields) });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
