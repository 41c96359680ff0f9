/**
 * Dates and time zones for the app: the browser's zone, the list of zones
 * for the picker, wall-clock time in a zone ↔ an instant, and the text a
 * person reads. The server stores an instant plus the meeting's zone; people
 * type and read wall-clock times.
 */

/** The zone the browser runs in; the create form's default. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Every IANA zone the browser knows, sorted, always with UTC and the browser's own. */
export function timeZoneNames(): string[] {
  const zones = new Set(Intl.supportedValuesOf("timeZone"));
  zones.add("UTC");
  zones.add(browserTimeZone());
  return [...zones].sort();
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

/** Year, month, …, second of an instant as the wall clock in `zone` shows it. */
function wallClock(instant: number, zone: string) {
  let format = partsFormatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    partsFormatters.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, part.value]));
  const number = (type: string) => Number(parts[type]);
  return {
    year: number("year"),
    month: number("month"),
    day: number("day"),
    hour: number("hour"),
    minute: number("minute"),
    second: number("second"),
  };
}

/** How far `zone`'s wall clock is ahead of UTC at `instant`, in ms. */
function zoneOffsetMs(instant: number, zone: string): number {
  const c = wallClock(instant, zone);
  const asUtc = Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant at which `zone`'s wall clock shows `date` ("2026-12-01") and
 * `time` ("15:30"). Around a DST change the offset is re-read once, so a
 * time in the skipped hour lands just after the change.
 */
export function wallTimeToInstant(date: string, time: string, zone: string): Date {
  const [year = 0, month = 1, day = 1] = date.split("-").map(Number);
  const [hour = 0, minute = 0] = time.split(":").map(Number);
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  const firstOffset = zoneOffsetMs(guess, zone);
  const secondOffset = zoneOffsetMs(guess - firstOffset, zone);
  return new Date(guess - secondOffset);
}

const pad = (value: number) => String(value).padStart(2, "0");

/** The `date` and `time` input values that show `instant` on `zone`'s wall clock. */
export function instantToWallTime(instant: Date, zone: string): { date: string; time: string } {
  const c = wallClock(instant.getTime(), zone);
  return { date: `${c.year}-${pad(c.month)}-${pad(c.day)}`, time: `${pad(c.hour)}:${pad(c.minute)}` };
}

/** "Tuesday, 1 December 2026 at 16:00" on `zone`'s wall clock, in the browser's language. */
export function formatInZone(instant: Date, zone: string): string {
  return new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short", timeZone: zone }).format(instant);
}

/** "16:00" on `zone`'s wall clock. */
export function formatTimeInZone(instant: Date, zone: string): string {
  return new Intl.DateTimeFormat(undefined, { timeStyle: "short", timeZone: zone }).format(instant);
}

/** A zone's readable name with its current offset: "Europe/Berlin (GMT+1)". */
export function describeZone(zone: string, at: Date = new Date()): string {
  const offset = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "shortOffset" })
    .formatToParts(at)
    .find((part) => part.type === "timeZoneName")?.value;
  return offset ? `${zone.replaceAll("_", " ")} (${offset})` : zone;
}

/** "60 minutes" / "1 h 30 min". */
export function formatDuration(minutes: number): string {
  if (minutes < 60) return `${minutes} min`;
  const rest = minutes % 60;
  return rest ? `${Math.floor(minutes / 60)} h ${rest} min` : `${minutes / 60} h`;
}
