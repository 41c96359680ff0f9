/**
 * The date, time, time-zone and duration inputs, shared by the create form
 * and the host's inline reschedule: the person types a wall-clock time in
 * the chosen zone; `read()` turns it into the instant the server stores.
 */
import { h, labelled } from "./dom";
import { instantToWallTime, timeZoneNames, wallTimeToInstant } from "./time";

export interface ScheduleValue {
  scheduledAt: Date;
  timezone: string;
  durationMinutes: number;
}

const DURATIONS = [15, 30, 45, 60, 90, 120, 180, 240];

export interface ScheduleFields {
  element: HTMLElement;
  read(): ScheduleValue;
  set(value: ScheduleValue): void;
}

export function scheduleFields(initial: ScheduleValue): ScheduleFields {
  const date = h("input", { type: "date", name: "date", required: true });
  const time = h("input", { type: "time", name: "time", required: true, step: 60 });
  const zone = h("select", { name: "timezone", required: true });
  zone.append(...timeZoneNames().map((name) => h("option", { value: name }, name.replaceAll("_", " "))));
  const duration = h("select", { name: "durationMinutes" });

  const set = (value: ScheduleValue) => {
    if (![...zone.options].some((option) => option.value === value.timezone)) {
      zone.append(h("option", { value: value.timezone }, value.timezone));
    }
    zone.value = value.timezone;
    const wall = instantToWallTime(value.scheduledAt, value.timezone);
    date.value = wall.date;
    time.value = wall.time;
    const minutes = [...new Set([...DURATIONS, value.durationMinutes])].sort((a, b) => a - b);
    duration.replaceChildren(...minutes.map((m) => h("option", { value: m }, `${m} minutes`)));
    duration.value = String(value.durationMinutes);
  };
  set(initial);

  const element = h(
    "div",
    { class: "schedule-fields" },
    h("div", { class: "field-row" }, labelled("Date", date), labelled("Start time", time)),
    h(
      "div",
      { class: "field-row" },
      labelled("Time zone", zone, "The date and time above are in this zone."),
      labelled("Duration", duration),
    ),
  );
  return {
    element,
    set,
    read: () => ({
      scheduledAt: wallTimeToInstant(date.value, time.value, zone.value),
      timezone: zone.value,
      durationMinutes: Number(duration.value),
    }),
  };
}
