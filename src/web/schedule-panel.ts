/**
 * The meeting's date and time, in the meeting's zone and in the reader's
 * own, updated live when the host reschedules. The host edits it inline;
 * the edit carries the version it started from, so an edit made meanwhile
 * elsewhere is not silently overwritten: the conflict is shown with the
 * other edit's time, and saving again applies over it.
 */
import { MeetTimeError } from "../client/errors";
import type { MeetingData } from "../client/types";
import { h, personName, replaceChildren } from "./dom";
import { describeError } from "./messages";
import { scheduleFields } from "./schedule-fields";
import {
  browserTimeZone,
  describeZone,
  formatDuration,
  formatInZone,
  formatTimeInZone,
  instantToWallTime,
} from "./time";

export interface ScheduleUpdate {
  scheduledAt: Date;
  timezone: string;
  durationMinutes: number;
  expectedVersion: number;
}

export interface SchedulePanel {
  element: HTMLElement;
  /** Shows the meeting's current time; `changedBy` (a name) announces a live change in a visible notice. */
  show(meeting: MeetingData, changedBy?: string): void;
}

/** `reschedule` resolves with the updated meeting or rejects with the SDK's error (`details.meeting` on a conflict). */
export function schedulePanel(
  initial: MeetingData,
  isHost: boolean,
  reschedule: (update: ScheduleUpdate) => Promise<MeetingData>,
): SchedulePanel {
  let meeting = initial;
  const ownZone = browserTimeZone();
  const when = h("p", { class: "meeting-time" });
  const local = h("p", { class: "local-time" });
  // Visible, not only read out: a time that changes under someone's eyes must say so, with the new time and zone.
  const announcement = h("p", { class: "notice time-changed", role: "status" });
  const element = h("div", { class: "schedule" }, when, local, announcement);

  const render = () => {
    const at = new Date(meeting.scheduledAt);
    const iso = at.toISOString();
    replaceChildren(
      when,
      h("time", { datetime: iso, "data-zone": meeting.timezone }, formatInZone(at, meeting.timezone)),
      ` · ${describeZone(meeting.timezone, at)} · ${formatDuration(meeting.durationMinutes)}`,
    );
    local.textContent =
      ownZone === meeting.timezone
        ? "This is your time zone."
        : `Your time: ${formatInZone(at, ownZone)} (${describeZone(ownZone, at)})`;
  };
  render();

  if (isHost) {
    let baseVersion = meeting.version;
    const fields = scheduleFields(scheduleOf(meeting));
    const message = h("p", { class: "notice", role: "alert" });
    const save = h("button", { type: "submit" }, "Save time");
    const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
    const editor = h(
      "form",
      { class: "panel schedule-editor", hidden: true, "aria-label": "Change the meeting time" },
      fields.element,
      message,
      h("div", { class: "actions" }, save, cancel),
    );
    const open = h("button", { type: "button", class: "secondary small", "aria-expanded": "false" }, "Change time");
    const close = () => {
      editor.hidden = true;
      open.setAttribute("aria-expanded", "false");
      open.focus();
    };
    open.addEventListener("click", () => {
      baseVersion = meeting.version;
      fields.set(scheduleOf(meeting));
      message.textContent = "";
      message.className = "notice";
      editor.hidden = false;
      open.setAttribute("aria-expanded", "true");
      editor.querySelector("input")?.focus();
    });
    cancel.addEventListener("click", close);
    editor.addEventListener("submit", async (event) => {
      event.preventDefault();
      message.textContent = "";
      save.disabled = true;
      try {
        const updated = await reschedule({ ...fields.read(), expectedVersion: baseVersion });
        panel.show(updated);
        close();
      } catch (caught) {
        message.className = "notice error";
        const current = conflictMeeting(caught);
        if (current) {
          // Saving again is a deliberate choice to overwrite the other edit, so it starts from its version.
          baseVersion = current.version;
          panel.show(current);
          const at = new Date(current.scheduledAt);
          message.textContent = `Not saved: the time was changed meanwhile to ${formatInZone(at, current.timezone)} (${current.timezone}, ${formatDuration(current.durationMinutes)}). Check your change and save again to replace it, or cancel to keep it.`;
        } else {
          message.textContent = `Not saved: ${describeError(caught)}`;
        }
      } finally {
        save.disabled = false;
      }
    });
    element.append(h("div", { class: "actions" }, open), editor);
  }

  const panel: SchedulePanel = {
    element,
    show(next, changedBy) {
      if (next.version < meeting.version) return;
      const moved = next.version > meeting.version;
      meeting = next;
      render();
      if (moved && changedBy) {
        const at = new Date(next.scheduledAt);
        // The reader's own time too, as a clock time alone when it falls on the same day.
        const ownDay = instantToWallTime(at, ownZone).date === instantToWallTime(at, next.timezone).date;
        const ownTime = ownDay ? formatTimeInZone(at, ownZone) : formatInZone(at, ownZone);
        const yours = ownZone === next.timezone ? "" : ` (${ownTime} your time)`;
        replaceChildren(
          announcement,
          personName(changedBy),
          ` changed the time to ${formatInZone(at, next.timezone)}, ${describeZone(next.timezone, at)}${yours}.`,
        );
      }
    },
  };
  return panel;
}

function scheduleOf(meeting: MeetingData) {
  return {
    scheduledAt: new Date(meeting.scheduledAt),
    timezone: meeting.timezone,
    durationMinutes: meeting.durationMinutes,
  };
}

/** The current meeting a `VERSION_CONFLICT` carries in `details.meeting`. */
function conflictMeeting(error: unknown): MeetingData | undefined {
  if (!(error instanceof MeetTimeError) || error.code !== "VERSION_CONFLICT") return undefined;
  return error.details?.meeting as MeetingData | undefined;
}
