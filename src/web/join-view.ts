/**
 * The invite page (`/app/#join=<token>`, for an invite or a meeting link):
 * shows which meeting the link is for and when (read with the still-unredeemed
 * invite or the link), asks for a display name, and redeems it for a seat; a
 * lobby link hands over to the waiting page (lobby-view.ts). The token travels in the URL
 * fragment, so it never reaches a server log. A link that cannot work says
 * why (broken, used, expired, meeting gone) and offers a way on: "Try
 * again" when the server could not be reached, "Create a meeting" otherwise.
 */
import { MeetTimeError } from "../client/errors";
import type { MeetTime } from "../client/meettime";
import { tokenClaims } from "../client/timing";
import type { JoinResult, MeetingData } from "../client/types";
import { h, labelled } from "./dom";
import { BROKEN_INVITE, describeError, describeInviteRefusal, inviteLinkIsBroken, isMeetingLink } from "./messages";
import { type Seat, saveWaitingPlace, seatFrom, type WaitingPlace } from "./seat";
import { browserTimeZone, formatInZone } from "./time";

/** Refusals of the join that no retry or other name can fix (for a meeting link, also revoked or used up). */
const DEAD_INVITE_CODES = new Set([
  "UNAUTHORIZED",
  "TOKEN_ALREADY_USED",
  "NOT_FOUND",
  "MEETING_ENDED",
  "FORBIDDEN",
  "LINK_EXHAUSTED",
]);

/** A lobby link put the guest in the lobby: show the waiting page for `wait`, which `stop` aborts. */
export type OnWaiting = (place: WaitingPlace, wait: Promise<JoinResult>, stop: AbortController) => void;

export function joinView(
  mt: MeetTime,
  inviteToken: string,
  onJoined: (seat: Seat) => void,
  onWaiting: OnWaiting,
): HTMLElement {
  const what = isMeetingLink(inviteToken) ? "link" : "invite";
  const heading = h("h1", { id: "join-heading" }, "Join a meeting");
  const about = h("p", { class: "hint" }, `Checking your ${what}…`);
  const displayName = h("input", { name: "displayName", required: true, maxlength: 80, autocomplete: "name" });
  const error = h("p", { class: "notice error", role: "alert" });
  const submit = h("button", { type: "submit" }, "Join meeting");
  const nameField = labelled("Your name", displayName, "Shown to everyone in the meeting.");
  const retry = h("button", { type: "button", hidden: true }, "Try again");
  const create = h("a", { class: "button secondary", href: "./", hidden: true }, "Create a meeting");
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "join-heading" },
    heading,
    about,
    nameField,
    error,
    h("div", { class: "actions" }, submit, retry, create),
  );
  /** The invite cannot become valid by typing a name: no form, just the way on. */
  let meetingShown = false;
  const deadEnd = (text: string) => {
    if (!meetingShown) heading.textContent = `This ${what === "link" ? "meeting" : "invite"} link does not work`;
    about.textContent = "";
    error.textContent = text;
    nameField.hidden = submit.hidden = true;
    create.hidden = false;
  };

  // The meeting is read with the invite before it is spent; a spent or expired link says so now, not after typing a name.
  // Which meeting is the invite's unverified audience (only the server verifies it).
  let shownMeeting: MeetingData | undefined;
  const check = () => {
    about.textContent = `Checking your ${what}…`;
    error.textContent = "";
    retry.hidden = true;
    mt.getMeeting(tokenClaims(inviteToken).meetingId ?? "", inviteToken)
      .then(({ meeting }) => {
        heading.textContent = `Join “${meeting.title}”`;
        meetingShown = true;
        shownMeeting = meeting;
        const at = new Date(meeting.scheduledAt);
        about.textContent = `${formatInZone(at, browserTimeZone())} your time (${formatInZone(at, meeting.timezone)} in ${meeting.timezone}).`;
        if (meeting.status === "ended") deadEnd("The host has ended this meeting.");
      })
      .catch((caught) => {
        if (caught instanceof MeetTimeError && caught.status >= 400) {
          deadEnd(describeInviteRefusal(caught, inviteToken));
          return;
        }
        // The server was not reached: the invite may well be fine.
        about.textContent = "";
        error.textContent = describeError(caught);
        retry.hidden = false;
      });
  };
  retry.addEventListener("click", check);
  if (inviteLinkIsBroken(inviteToken)) deadEnd(BROKEN_INVITE);
  else check();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    let waiting = false;
    const stop = new AbortController();
    const joining: Promise<JoinResult> = mt.join(inviteToken, displayName.value, {
      signal: stop.signal,
      onWaiting: (ticket) => {
        // A lobby link: from here on the waiting page owns the outcome, and a reload keeps the place.
        waiting = true;
        const place: WaitingPlace = {
          ...ticket,
          linkToken: inviteToken,
          name: displayName.value.trim(),
          title: shownMeeting?.title,
          scheduledAt: shownMeeting?.scheduledAt,
          timezone: shownMeeting?.timezone,
        };
        saveWaitingPlace(place);
        onWaiting(place, joining, stop);
      },
    });
    try {
      const joined = await joining;
      if (!waiting) onJoined(seatFrom(joined, joined.sessionToken, inviteToken));
    } catch (caught) {
      if (waiting) return;
      submit.disabled = false;
      if (caught instanceof MeetTimeError && DEAD_INVITE_CODES.has(caught.code)) {
        deadEnd(describeInviteRefusal(caught, inviteToken));
      } else error.textContent = describeError(caught);
    }
  });
  return h("div", { class: "narrow" }, form);
}
