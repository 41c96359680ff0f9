/**
 * The waiting page of a guest who opened a meeting link with a lobby: the
 * meeting's title and time (read again with the link when the page shows), "Waiting for the host to let you in", and a way
 * to stop waiting. Admitted, the guest takes the seat and enters; otherwise
 * the page says why not (denied and the host's reason, the link revoked,
 * the meeting ended, the place lapsed), and a reload still says it. The
 * place itself lives in sessionStorage (seat.ts), so a reload while waiting
 * comes back here with the same request.
 */
import type { JoinResult, MeetingData } from "../client/types";
import { h, replaceChildren } from "./dom";
import { describeLobbyEnd } from "./messages";
import { forgetWaitingPlace, rememberFarewell, type Seat, saveWaitingPlace, seatFrom, type WaitingPlace } from "./seat";
import { browserTimeZone, formatInZone } from "./time";

export interface LobbyViewActions {
  /** The host let the guest in: take the seat. */
  onJoined: (seat: Seat) => void;
  /** After leaving the lobby: the link's page again, to ask once more. */
  askAgain: () => void;
  /** The meeting as the link reads it now (its title or time may have changed since the knock). */
  readMeeting: () => Promise<MeetingData>;
}

/** When the meeting is, in the guest's zone and the meeting's own. */
function meetingTime(place: WaitingPlace): string {
  if (!place.scheduledAt) return "";
  const at = new Date(place.scheduledAt);
  const zone = place.timezone ?? "UTC";
  return `${formatInZone(at, browserTimeZone())} your time (${formatInZone(at, zone)} in ${zone}).`;
}

/**
 * `wait` is the join (or the resumed wait) under way; `stop` aborts it.
 * @example show(lobbyView(place, mt.waitInLobby(place, { signal: stop.signal }), stop, actions))
 */
export function lobbyView(
  place: WaitingPlace,
  wait: Promise<JoinResult>,
  stop: AbortController,
  actions: LobbyViewActions,
): HTMLElement {
  const heading = h("h1", { id: "lobby-heading", tabindex: -1 }, "Waiting for the host to let you in");
  const title = h("p", { class: "lobby-meeting", hidden: !place.title }, h("bdi", {}, place.title ?? ""));
  const when = h("p", { class: "hint" }, meetingTime(place));
  let settled = false;
  actions.readMeeting().then(
    (meeting) => {
      if (settled) return;
      Object.assign(place, { title: meeting.title, scheduledAt: meeting.scheduledAt, timezone: meeting.timezone });
      saveWaitingPlace(place);
      replaceChildren(title, h("bdi", {}, meeting.title));
      title.hidden = false;
      when.textContent = meetingTime(place);
    },
    () => {
      // What the page showed at the knock stays; the wait itself says if the link stopped working.
    },
  );
  const status = h(
    "p",
    { role: "status" },
    "You asked to join as ",
    h("bdi", {}, place.name),
    ". Keep this page open: you go in as soon as the host lets you in.",
  );
  const leave = h("button", { type: "button", class: "secondary" }, "Leave the lobby");
  leave.addEventListener("click", () => {
    leave.disabled = true;
    stop.abort();
  });
  const actionsRow = h("div", { class: "actions" }, leave);
  const panel = h(
    "section",
    { class: "panel lobby-wait", "aria-labelledby": "lobby-heading", "aria-busy": "true" },
    heading,
    title,
    when,
    status,
    actionsRow,
  );

  wait.then(
    (joined) => {
      settled = true;
      forgetWaitingPlace();
      actions.onJoined(seatFrom(joined, joined.sessionToken, place.linkToken));
    },
    (error: unknown) => {
      settled = true;
      forgetWaitingPlace();
      panel.removeAttribute("aria-busy");
      const end = describeLobbyEnd(error);
      // A reload of the same link says it again, instead of knocking once more without the guest asking.
      if (!end.canAskAgain) {
        rememberFarewell({
          meetingId: place.meetingId,
          inviteToken: place.linkToken,
          heading: end.heading,
          text: end.text,
        });
      }
      heading.textContent = end.heading;
      replaceChildren(status, end.text);
      status.className = "notice";
      replaceChildren(
        actionsRow,
        end.canAskAgain && h("button", { type: "button", onclick: actions.askAgain }, "Ask to join again"),
        h("a", { class: "button secondary", href: "./" }, "Create a meeting"),
      );
      heading.focus();
    },
  );
  queueMicrotask(() => heading.focus());
  return h("div", { class: "narrow" }, panel);
}
