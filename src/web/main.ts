/**
 * The MeetTime web app's entry: picks the page from the URL fragment and the
 * tab's stored seat.
 * - `#join=<invite or meeting link>`: the invite page (or straight back into
 *   the meeting if this tab already took its seat with that link: a reload;
 *   or back to the lobby's waiting page if this tab waits with it);
 * - `#meeting=<id>` or nothing, with a seat stored in this tab: the meeting;
 * - a meeting this tab has been removed from, left or seen end (also its
 *   invite opened again): why, said again after a reload;
 * - otherwise: the create page.
 * `?relay=1` forces every call through TURN (`iceTransportPolicy: "relay"`),
 * to check that a TURN server works; `?maxPeers=1..5` lowers the mesh's cap
 * (thin connections; tests). Invite links made on the page carry both.
 */
import { MeetTime } from "../client/meettime";
import type { CallOptions } from "./call-panel";
import { createView } from "./create-view";
import { h } from "./dom";
import { joinView, type OnWaiting } from "./join-view";
import { lobbyView } from "./lobby-view";
import { type MeetingView, meetingView } from "./meeting-view";
import { type Farewell, farewellFor, loadSeat, loadWaitingPlace, type Seat, saveSeat } from "./seat";

const mt = new MeetTime();
const main = document.getElementById("main") as HTMLElement;
const query = new URLSearchParams(location.search);
/** The mesh's cap can only be lowered (every member must use the same one to agree on who is in the video). */
const maxPeers = Number(query.get("maxPeers"));
const callOptions: CallOptions = {
  relayOnly: query.get("relay") === "1",
  ...(Number.isInteger(maxPeers) && maxPeers >= 1 && maxPeers < 6 ? { maxPeers } : {}),
};
let meeting: MeetingView | null = null;
/** Stops the wait in a lobby this tab shows, when it shows something else. */
let stopWaiting: (() => void) | null = null;

function show(element: HTMLElement) {
  stopWaiting?.();
  stopWaiting = null;
  meeting?.dispose();
  meeting = null;
  main.replaceChildren(element);
}

function enterMeeting(seat: Seat) {
  // The invite is spent: the fragment now names the meeting, and a reload comes back through the stored seat.
  history.replaceState(null, "", `${location.pathname}${location.search}#meeting=${seat.meetingId}`);
  meeting?.dispose();
  meeting = meetingView(mt, seat, callOptions, () => enterMeeting(loadSeat() ?? seat));
  main.replaceChildren(meeting.element);
  main.focus();
}

function takeSeat(seat: Seat) {
  saveSeat(seat);
  enterMeeting(seat);
}

/** The page left when this tab's seat in a meeting ended, after a reload. */
function farewellPage(farewell: Farewell): HTMLElement {
  return h(
    "div",
    { class: "narrow panel" },
    h("h1", {}, farewell.heading ?? "You are no longer in this meeting"),
    h("p", {}, farewell.text),
    h("a", { class: "button", href: "./" }, "Create a meeting"),
  );
}

/** The link's page: the name form, then (for a lobby link) the waiting page. */
function joinPage(invite: string) {
  show(joinView(mt, invite, takeSeat, waitingPage(invite)));
}

function waitingPage(invite: string): OnWaiting {
  return (place, wait, stop) => {
    const readMeeting = () => mt.getMeeting(place.meetingId, invite).then(({ meeting }) => meeting);
    show(lobbyView(place, wait, stop, { onJoined: takeSeat, askAgain: () => joinPage(invite), readMeeting }));
    stopWaiting = () => stop.abort();
  };
}

function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  const seat = loadSeat();
  const invite = params.get("join");
  if (invite) {
    const farewell = farewellFor({ inviteToken: invite });
    const place = loadWaitingPlace(invite);
    if (seat?.inviteToken === invite) enterMeeting(seat);
    else if (farewell) show(farewellPage(farewell));
    else if (place) {
      // A reload while waiting: the same place in the lobby, not a new knock.
      const stop = new AbortController();
      waitingPage(invite)(place, mt.waitInLobby(place, { signal: stop.signal }), stop);
    } else joinPage(invite);
    return;
  }
  const meetingId = params.get("meeting");
  if (seat && (!meetingId || meetingId === seat.meetingId)) {
    enterMeeting(seat);
    return;
  }
  const farewell = meetingId ? farewellFor({ meetingId }) : null;
  if (farewell) {
    show(farewellPage(farewell));
    return;
  }
  if (meetingId) {
    show(
      h(
        "div",
        { class: "narrow panel" },
        h("h1", {}, "You are not in this meeting in this tab"),
        h("p", {}, "Open your invite link to join, or ask the host for one."),
        h("a", { class: "button", href: "./" }, "Create a meeting"),
      ),
    );
    return;
  }
  show(createView(mt, takeSeat));
}

window.addEventListener("hashchange", route);
route();
