/**
 * Structured logs: one JSON line per event. Never pass a token or secret in
 * `fields`; ids and counts only.
 */
import type { LogLevel } from "./config";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: LogLevel = "info";

/** Sets the lowest level written; called once the config is loaded. */
export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/**
 * @example log("info", "meeting.created", { meetingId })
 */
export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  if (RANK[level] < RANK[threshold]) return;
  const line = JSON.stringify({ level, event, time: new Date().toISOString(), ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
