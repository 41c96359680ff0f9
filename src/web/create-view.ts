/**
 * The start page: a form that creates a meeting (title, the host's name,
 * date and time in a chosen zone, defaulting to the browser's) and takes
 * the host into it.
 */
import type { MeetTime } from "../client/meettime";
import { h, labelled } from "./dom";
import { describeError } from "./messages";
import { scheduleFields } from "./schedule-fields";
import { type Seat, seatFrom } from "./seat";
import { browserTimeZone } from "./time";

/** The next full hour: a sensible default that is never in the past. */
function nextFullHour(): Date {
  const date = new Date(Date.now() + 60 * 60 * 1000);
  date.setMinutes(0, 0, 0);
  return date;
}

export function createView(mt: MeetTime, onCreated: (seat: Seat) => void): HTMLElement {
  const title = h("input", { name: "title", required: true, maxlength: 200, autocomplete: "off" });
  const hostName = h("input", { name: "hostName", required: true, maxlength: 80, autocomplete: "name" });
  const schedule = scheduleFields({ scheduledAt: nextFullHour(), timezone: browserTimeZone(), durationMinutes: 60 });
  const error = h("p", { class: "notice error", role: "alert" });
  const submit = h("button", { type: "submit" }, "Create meeting");

  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "create-heading" },
    h("h1", { id: "create-heading" }, "Create a meeting"),
    h("p", { class: "hint" }, "You will be the host: you can invite people, change the time and end the meeting."),
    labelled("Title", title),
    labelled("Your name", hostName, "Shown to everyone in the meeting."),
    schedule.element,
    error,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      const created = await mt.createMeeting({ title: title.value, hostName: hostName.value, ...schedule.read() });
      onCreated(seatFrom(created, created.hostToken));
    } catch (caught) {
      error.textContent = describeError(caught);
      submit.disabled = false;
    }
  });
  return h("div", { class: "narrow" }, form);
}
