/**
 * The calendar feed read back by an independent parser (ical.js), and the
 * RFC 5545 line rules checked octet by octet: what a calendar app sees.
 */
import ICAL from "ical.js";
import { describe, expect, it } from "vitest";
import { escapeText, foldLine, meetingCalendar } from "../../src/calendar/ics";
import type { MeetingData } from "../../src/protocol/schemas";

const ID = "a".repeat(64);

function meeting(overrides: Partial<MeetingData> = {}): MeetingData {
  return {
    id: ID,
    title: "Weekly sync",
    status: "active",
    scheduledAt: "2026-12-01T15:00:00.000Z",
    durationMinutes: 30,
    timezone: "Europe/Berlin",
    version: 1,
    maxParticipants: 50,
    createdAt: "2026-11-20T09:00:00.000Z",
    updatedAt: "2026-11-20T09:00:00.000Z",
    expiresAt: "2026-12-02T15:30:00.000Z",
    participantCount: 1,
    participants: [],
    ...overrides,
  };
}

function parseEvent(ics: string) {
  const calendar = new ICAL.Component(ICAL.parse(ics));
  const vevent = calendar.getFirstSubcomponent("vevent");
  if (!vevent) throw new Error("no VEVENT");
  return { calendar, vevent, event: new ICAL.Event(vevent) };
}

/** Asserts the RFC 5545 §3.1 physical-line rules and returns the unfolded lines. */
function expectWellFormedLines(ics: string): string[] {
  expect(ics.endsWith("\r\n")).toBe(true);
  expect(ics.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
  const physical = ics.slice(0, -2).split("\r\n");
  const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
  for (const line of physical) {
    const bytes = new TextEncoder().encode(line);
    expect(bytes.length, line).toBeLessThanOrEqual(75);
    // Each physical line decodes on its own: no UTF-8 sequence was split by a fold.
    expect(strictUtf8.decode(bytes)).toBe(line);
  }
  return ics
    .replace(/\r\n[ \t]/g, "")
    .slice(0, -2)
    .split("\r\n");
}

describe("calendar feed", () => {
  it("is one VEVENT with a stable UID, SEQUENCE from the version and UTC start and end", () => {
    const ics = meetingCalendar(meeting());
    expectWellFormedLines(ics);
    const { calendar, event, vevent } = parseEvent(ics);
    expect(calendar.getFirstPropertyValue("version")).toBe("2.0");
    expect(calendar.getFirstPropertyValue("prodid")).toBeTruthy();
    expect(calendar.getAllSubcomponents("vevent")).toHaveLength(1);
    expect(event.uid).toBe(`${ID}@meettime`);
    expect(event.sequence).toBe(0);
    expect(event.summary).toBe("Weekly sync");
    expect(event.startDate.toJSDate().toISOString()).toBe("2026-12-01T15:00:00.000Z");
    expect(event.endDate.toJSDate().toISOString()).toBe("2026-12-01T15:30:00.000Z");
    expect(event.startDate.isDate).toBe(false);
    expect(event.startDate.zone?.tzid).toBe("UTC");
    expect(vevent.getFirstPropertyValue("status")).toBe("CONFIRMED");
    const stamp = vevent.getFirstPropertyValue("dtstamp") as InstanceType<typeof ICAL.Time>;
    expect(stamp.toJSDate().toISOString()).toBe("2026-11-20T09:00:00.000Z");
    expect(event.description).toContain("2026-12-01 16:00 to 2026-12-01 16:30 (Europe/Berlin)");
  });

  it("round-trips a title full of commas, semicolons, backslashes and quotes", () => {
    const title = 'Budget, Q3; "final" \\ draft \\n not a newline, a;b\\c';
    const ics = meetingCalendar(meeting({ title }));
    const lines = expectWellFormedLines(ics);
    expect(lines).toContain('SUMMARY:Budget\\, Q3\\; "final" \\\\ draft \\\\n not a newline\\, a\\;b\\\\c');
    expect(parseEvent(ics).event.summary).toBe(title);
  });

  it("folds long emoji and CJK titles at 75 octets without splitting a character", () => {
    const title = `${"会議の時間を決めましょう🎉👩🏽‍💻".repeat(6)}, 終わり`.slice(0, 200);
    const ics = meetingCalendar(meeting({ title }));
    const physical = ics.split("\r\n");
    expect(physical.filter((line) => line.startsWith(" ")).length).toBeGreaterThan(3);
    expectWellFormedLines(ics);
    expect(parseEvent(ics).event.summary).toBe(title);
  });

  it("moves the event and bumps SEQUENCE on a reschedule, keeping the UID", () => {
    const before = parseEvent(meetingCalendar(meeting())).event;
    const after = parseEvent(
      meetingCalendar(
        meeting({
          version: 3,
          scheduledAt: "2026-12-02T08:15:00.000Z",
          durationMinutes: 90,
          updatedAt: "2026-11-21T10:00:00.000Z",
        }),
      ),
    ).event;
    expect(after.uid).toBe(before.uid);
    expect(after.sequence).toBe(2);
    expect(after.startDate.toJSDate().toISOString()).toBe("2026-12-02T08:15:00.000Z");
    expect(after.endDate.toJSDate().toISOString()).toBe("2026-12-02T09:45:00.000Z");
  });

  it("marks an ended meeting CANCELLED", () => {
    const ics = meetingCalendar(meeting({ status: "ended", version: 2, updatedAt: "2026-11-25T12:00:00.000Z" }));
    expectWellFormedLines(ics);
    const { vevent, event } = parseEvent(ics);
    expect(vevent.getFirstPropertyValue("status")).toBe("CANCELLED");
    expect(event.sequence).toBe(1);
    expect(event.description).toMatch(/^Cancelled/);
  });

  it("gives the same text for the same meeting state", () => {
    expect(meetingCalendar(meeting())).toBe(meetingCalendar(meeting()));
  });
});

describe("iCalendar text rules", () => {
  it("escapes TEXT per RFC 5545 and drops control characters", () => {
    expect(escapeText("a,b;c\\d\ne\r\nf\rg")).toBe("a\\,b\\;c\\\\d\\ne\\nf\\ng");
    expect(escapeText("bell\u0007 tab\tkept")).toBe("bell tab\tkept");
  });

  it("leaves a line of 75 octets alone and folds the 76th", () => {
    expect(foldLine("x".repeat(75))).toBe("x".repeat(75));
    expect(foldLine("x".repeat(76))).toBe(`${"x".repeat(75)}\r\n x`);
  });

  it("moves a 4-octet emoji that would straddle the limit to the next line whole", () => {
    const folded = foldLine(`${"x".repeat(73)}😀y`);
    expect(folded).toBe(`${"x".repeat(73)}\r\n 😀y`);
  });

  it("unfolds back to the original for any text", () => {
    const samples = ["", "plain", "é".repeat(100), "🎉".repeat(60), `${"ab会".repeat(50)}👩🏽‍💻`];
    for (const text of samples) {
      const folded = foldLine(`SUMMARY:${text}`);
      for (const line of folded.split("\r\n")) expect(new TextEncoder().encode(line).length).toBeLessThanOrEqual(75);
      expect(folded.replace(/\r\n /g, "")).toBe(`SUMMARY:${text}`);
    }
  });
});
