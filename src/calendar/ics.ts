/**
 * A meeting as an iCalendar (RFC 5545) feed: one VEVENT that calendar apps
 * can subscribe to. The `UID` never changes and `SEQUENCE` follows the
 * meeting's version, so a subscribed calendar moves the event on every
 * reschedule and marks it cancelled once the host ends the meeting.
 *
 * Written by hand rather than with a generator library: the output is a
 * dozen properties, and the RFC rules that matter (TEXT escaping, folding at
 * 75 octets without splitting a UTF-8 character, CRLF, UTC date-times) are a
 * few lines each, tested against an independent parser.
 */

import { remembered } from "../lib/remembered";
import type { MeetingData } from "../protocol/schemas";

export const ICS_MEDIA_TYPE = "text/calendar; charset=utf-8";

const PRODUCT_ID = "-//MeetTime//MeetTime Calendar 1.0//EN";
/** How often subscribed calendars should re-read the feed, so reschedules show up soon. */
const REFRESH_INTERVAL = "PT15M";
const MAX_LINE_OCTETS = 75;
const CRLF = "\r\n";

const utf8 = new TextEncoder();

/**
 * Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and
 * line breaks; other control characters are not allowed in TEXT and are dropped.
 * @example escapeText("a,b;c\\d\ne") // "a\\,b\\;c\\\\d\\ne"
 */
export function escapeText(value: string): string {
  return value
    .replace(/\\/g, "\\\\")
    .replace(/;/g, "\\;")
    .replace(/,/g, "\\,")
    .replace(/\r\n|\r|\n/g, "\\n")
    .replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, "");
}

/**
 * Folds one content line (RFC 5545 §3.1): at most 75 octets per physical
 * line, continuations start with a space, and a multi-octet UTF-8 character
 * (an emoji, a CJK character) is never split across lines.
 */
export function foldLine(line: string): string {
  const parts: string[] = [];
  let current = "";
  let octets = 0;
  for (const character of line) {
    const size = utf8.encode(character).length;
    if (octets + size > MAX_LINE_OCTETS) {
      parts.push(current);
      current = " ";
      octets = 1;
    }
    current += character;
    octets += size;
  }
  parts.push(current);
  return parts.join(CRLF);
}

/** A UTC DATE-TIME value: `20261201T150000Z`. */
export function formatUtc(iso: string | number): string {
  return new Date(iso)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

/** One formatter per zone: building an `Intl.DateTimeFormat` costs about 40 µs, a feed uses two to four. */
const localFormatter = remembered(
  100,
  (timeZone) =>
    new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    }),
);

/** `2026-12-01 16:00` in `timeZone`, for the human-readable description. */
function localTime(ms: number, timeZone: string): string {
  const parts = localFormatter(timeZone).formatToParts(ms);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")} ${part("hour")}:${part("minute")}`;
}

function describe(meeting: MeetingData, start: number, end: number): string {
  const when = `${localTime(start, meeting.timezone)} to ${localTime(end, meeting.timezone)} (${meeting.timezone}), ${meeting.durationMinutes} minutes.`;
  const lines = [meeting.status === "ended" ? "Cancelled: the host ended this meeting." : `MeetTime meeting, ${when}`];
  if (meeting.status === "ended") lines.push(`Was scheduled ${when}`);
  lines.push(`Meeting id: ${meeting.id}`);
  return lines.join("\n");
}

/**
 * The meeting's calendar feed. `DTSTAMP` and `LAST-MODIFIED` are the
 * meeting's last change, so the same state always gives the same text.
 * @example meetingCalendar(meeting) // "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n…"
 */
export function meetingCalendar(meeting: MeetingData): string {
  const start = Date.parse(meeting.scheduledAt);
  const end = start + meeting.durationMinutes * 60_000;
  const title = escapeText(meeting.title);
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    `PRODID:${PRODUCT_ID}`,
    "CALSCALE:GREGORIAN",
    `NAME:${title}`,
    `X-WR-CALNAME:${title}`,
    `X-WR-TIMEZONE:${escapeText(meeting.timezone)}`,
    `REFRESH-INTERVAL;VALUE=DURATION:${REFRESH_INTERVAL}`,
    `X-PUBLISHED-TTL:${REFRESH_INTERVAL}`,
    "BEGIN:VEVENT",
    `UID:${meeting.id}@meettime`,
    `SEQUENCE:${meeting.version - 1}`,
    `DTSTAMP:${formatUtc(meeting.updatedAt)}`,
    `CREATED:${formatUtc(meeting.createdAt)}`,
    `LAST-MODIFIED:${formatUtc(meeting.updatedAt)}`,
    `DTSTART:${formatUtc(start)}`,
    `DTEND:${formatUtc(end)}`,
    `SUMMARY:${title}`,
    `DESCRIPTION:${escapeText(describe(meeting, start, end))}`,
    `STATUS:${meeting.status === "ended" ? "CANCELLED" : "CONFIRMED"}`,
    "TRANSP:OPAQUE",
    "END:VEVENT",
    "END:VCALENDAR",
  ];
  return lines.map(foldLine).join(CRLF) + CRLF;
}
