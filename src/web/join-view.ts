/**
 * The invite page (`/app/#join=<token>`): shows which meeting the link is
 * for and when (read with the still-unredeemed invite), asks for a display
 * name, and redeems the invite for a seat. The token travels in the URL
 * fragment, so it never reaches a server log.
 */
import { MeetTimeError } from "../client/errors";
import type { MeetTime } from "../client/meettime";
import { tokenClaims } from "../client/timing";
import { h, labelled } from "./dom";
import { describeError } from "./messages";
import { type Seat, seatFrom } from "./seat";
import { browserTimeZone, formatInZone } from "./time";

export function joinView(mt: MeetTime, inviteToken: string, onJoined: (seat: Seat) => void): HTMLElement {
  const heading = h("h1", { id: "join-heading" }, "Join a meeting");
  const about = h("p", { class: "hint" }, "Checking your invite…");
  const displayName = h("input", { name: "displayName", required: true, maxlength: 80, autocomplete: "name" });
  const error = h("p", { class: "notice error", role: "alert" });
  const submit = h("button", { type: "submit" }, "Join meeting");
  const nameField = labelled("Your name", displayName, "Shown to everyone in the meeting.");
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "join-heading" },
    heading,
    about,
    nameField,
    error,
    h("div", { class: "actions" }, submit),
  );

  // The meeting is read with the invite before it is spent; a spent or expired link says so now, not after typing a name.
  // Which meeting is the invite's unverified audience (only the server verifies); a link that is not a token at all
  // asks about "invalid", and the server's 404/401 says so.
  mt.getMeeting(tokenClaims(inviteToken).meetingId || "invalid", inviteToken)
    .then(({ meeting }) => {
      heading.textContent = `Join “${meeting.title}”`;
      const at = new Date(meeting.scheduledAt);
      about.textContent = `${formatInZone(at, browserTimeZone())} your time (${formatInZone(at, meeting.timezone)} in ${meeting.timezone}).`;
      if (meeting.status === "ended") {
        error.textContent = "The host has ended this meeting.";
        nameField.hidden = submit.hidden = true;
      }
    })
    .catch((caught) => {
      about.textContent = "";
      error.textContent = describeError(caught);
      // A spent, expired or unknown invite cannot become valid by typing a name; a network error can pass.
      if (caught instanceof MeetTimeError && caught.status >= 400) nameField.hidden = submit.hidden = true;
    });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      const joined = await mt.join(inviteToken, displayName.value);
      onJoined(seatFrom(joined, joined.sessionToken, inviteToken));
    } catch (caught) {
      error.textContent = describeError(caught);
      submit.disabled = false;
    }
  });
  return h("div", { class: "narrow" }, form);
}
