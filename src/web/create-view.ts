/**
 * The start page: a form that creates a meeting (title, the host's name,
 * date and time in a chosen zone, defaulting to the browser's) and takes
 * the host into it. A server that restricts creation (CREATE_KEYS) answers
 * 401: the form then asks for a key. Behind Cloudflare Access the browser's
 * sign-in cookie makes Access add its token, and the form never asks.
 */
import { MeetTimeError } from "../client/errors";
import type { MeetTime } from "../client/meettime";
import { CreateKeyMemory, createKeyRefusal } from "./create-key";
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
  const keys = new CreateKeyMemory(globalThis.localStorage);
  const keyInput = h("input", { name: "createKey", type: "password", autocomplete: "off", spellcheck: "false" });
  const remember = h("input", { name: "rememberKey", type: "checkbox" });
  const keySection = h(
    "div",
    { class: "create-key", hidden: true },
    labelled("Create key", keyInput, "Whoever runs this server gave it to you."),
    h("label", { class: "check" }, remember, "Remember on this device"),
  );

  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "create-heading" },
    h("h1", { id: "create-heading" }, "Create a meeting"),
    h("p", { class: "hint" }, "You will be the host: you can invite people, change the time and end the meeting."),
    labelled("Title", title),
    labelled("Your name", hostName, "Shown to everyone in the meeting."),
    schedule.element,
    keySection,
    error,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    const typedKey = keySection.hidden ? "" : keyInput.value.trim();
    const createKey = typedKey || keys.current();
    try {
      const input = { title: title.value, hostName: hostName.value, ...schedule.read() };
      const created = await mt.createMeeting(input, { createKey });
      if (typedKey) keys.keep(typedKey, remember.checked);
      onCreated(seatFrom(created, created.hostToken));
    } catch (caught) {
      if (caught instanceof MeetTimeError && caught.code === "UNAUTHORIZED") {
        if (createKey) keys.forget();
        keySection.hidden = false;
        error.textContent = createKeyRefusal(Boolean(createKey));
        keyInput.focus();
      } else {
        error.textContent = describeError(caught);
      }
      submit.disabled = false;
    }
  });
  return h("div", { class: "narrow" }, form);
}
