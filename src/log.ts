/**
 * Structured logs: one JSON line per event, at or above LOG_LEVEL (set by
 * the request-log middleware and the meeting object from the config).
 * Never pass a token or secret in `fields`; ids and counts only. As a
 * safety net, anything shaped like a JWT in a string field is redacted.
 */
import type { LogLevel } from "./config";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** Three base64url segments, the first starting like a JSON header: a JWT. */
const JWT_SHAPE = /eyJ[\w-]*\.[\w-]+\.[\w-]*/g;

let threshold: LogLevel = "info";

/** Sets the lowest level written; called once the config is loaded. */
export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  let clean = fields;
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === "string" && value.includes("eyJ")) {
      if (clean === fields) clean = { ...fields };
      clean[key] = value.replace(JWT_SHAPE, "[redacted]");
    }
  }
  return clean;
}

/**
 * @example log("info", "meeting.created", { meetingId })
 */
export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  if (RANK[level] < RANK[threshold]) return;
  const line = JSON.stringify({ level, event, time: new Date().toISOString(), ...redact(fields) });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
