/**
 * The meeting page: the live connection (resuming the tab's seat and chat),
 * the time (live, editable by the host), the call, the participant list,
 * the chat, the links, the host's lobby (who waits to be let in), and
 * leave/end. When the connection closes for good
 * the page says why in words (removed, ended, replaced by another tab, …)
 * and lets go of the camera.
 */
import type { MeetingConnection } from "../client/connection";
import type { MeetTime } from "../client/meettime";
import type { ChatMessageData, ParticipantData } from "../client/types";
import { type CallOptions, callPanel } from "./call-panel";
import { throttled } from "./chat-history";
import { chatPanel } from "./chat-panel";
import { h, replaceChildren } from "./dom";
import { linksPanel } from "./links-panel";
import { lobbyPanel } from "./lobby-panel";
import { closedMessage, describeError } from "./messages";
import { participantsPanel } from "./participants-panel";
import { schedulePanel } from "./schedule-panel";
import { forgetSeat, lastSeq, rememberFarewell, type Seat, saveSeat } from "./seat";

export interface MeetingView {
  element: HTMLElement;
  dispose(): void;
}

/** How often at most a burst of chat messages is written to sessionStorage (a reload resumes from the server anyway). */
const CHAT_SAVE_INTERVAL_MS = 1000;

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};

export function meetingView(mt: MeetTime, seat: Seat, callOptions: CallOptions, rejoin: () => void): MeetingView {
  const conn: MeetingConnection = mt.connect(seat.meetingId, seat.token, {
    since: lastSeq(seat),
    ...(seat.iceServers ? { iceServers: seat.iceServers, iceServersExpiresAt: seat.iceServersExpiresAt } : {}),
  });
  const isHost = seat.role === "host";
  const outcome = h("div", { class: "notice ended-banner", role: "alert", hidden: true });
  const connection = h(
    "span",
    { class: "connection", role: "status", "data-state": "connecting" },
    CONNECTION_TEXT.connecting,
  );
  const heading = h("h1", { id: "meeting-title" }, "Joining the meeting…");
  const header = h("div", { class: "meeting-header" }, h("div", {}, heading), connection);
  // The host's lobby: above everything else, so a knock is seen while watching the video.
  const lobby = isHost ? lobbyPanel({ admit: (id) => conn.admit(id), deny: (id) => conn.deny(id) }) : null;
  if (lobby) {
    const renderLobby = () => {
      lobby.render(conn.lobby);
      // A host in another tab sees the count in the tab's title.
      const waiting = conn.lobby.length;
      const title = document.title.replace(/^\(\d+ waiting\) /, "");
      document.title = waiting > 0 ? `(${waiting} waiting) ${title}` : title;
    };
    conn.on("lobby:knock", (entry) => {
      renderLobby();
      lobby.announce(entry);
    });
    conn.on("lobby:left", renderLobby);
    conn.on("meeting:joined", renderLobby);
  }
  const element = h("div", { class: "meeting" }, outcome, lobby?.element, header);
  let kickReason: string | undefined;
  let disposed = false;

  conn.on("token", ({ token }) => {
    seat.token = token;
    saveSeat(seat);
  });
  conn.on("ice-servers", ({ iceServers, iceServersExpiresAt }) => {
    Object.assign(seat, { iceServers, iceServersExpiresAt });
    saveSeat(seat);
  });
  conn.on("meeting:kicked", ({ reason }) => {
    kickReason = reason;
  });

  const chat = chatPanel(seat.participantId, (text) => conn.sendChat(text));
  for (const message of seat.chat) chat.add(message);
  // The stored chat is the panel's (bounded, in seq order); a burst of messages is written once per interval.
  seat.chat = chat.messages;
  const persistChat = throttled(() => saveSeat(seat), CHAT_SAVE_INTERVAL_MS);
  const record = (messages: readonly ChatMessageData[]) => {
    let added = false;
    for (const message of messages) added = chat.add(message) || added;
    if (added) persistChat.request();
  };
  conn.on("chat:new-message", (message) => record([message]));
  const flushChat = () => persistChat.flush();
  window.addEventListener("pagehide", flushChat);

  const kick = (participant: ParticipantData) => {
    conn
      .kick(participant.id)
      .catch((error) => showProblem(`Could not remove ${participant.name}: ${describeError(error)}`));
  };
  const participants = participantsPanel(seat.participantId, isHost, kick);
  const renderParticipants = () => participants.render(conn.participants);
  for (const type of ["meeting:participant-joined", "meeting:participant-left", "participant:updated"] as const) {
    conn.on(type, renderParticipants);
  }

  const problem = h("p", { class: "notice error", role: "alert" });
  const showProblem = (text: string) => {
    problem.textContent = text;
  };

  const call = callPanel(conn, seat, callOptions, showProblem);
  // Started now, not after the join: peers already in the meeting call the newcomer the moment it joins.
  call.start();

  const leave = h("button", { type: "button", class: "secondary" }, "Leave meeting");
  leave.addEventListener("click", () => {
    leave.disabled = true;
    conn.leave().catch((error) => {
      leave.disabled = false;
      showProblem(`Could not leave: ${describeError(error)}`);
    });
  });
  const hostActions = isHost ? endMeetingControl(() => mt.terminate(seat.meetingId, seat.token), showProblem) : null;

  conn.on("state", (change) => {
    connection.dataset.state = change.state;
    connection.textContent = CONNECTION_TEXT[change.state];
    chat.setEnabled(change.state !== "closed");
    renderParticipants();
    if (change.state !== "closed" || disposed) return;
    call.stop();
    // What stays is what is still true: the title, the time and the chat so far.
    element.classList.add("closed");
    const { text, keepSeat } = closedMessage(change, seat.role, kickReason);
    persistChat.cancel();
    if (keepSeat) saveSeat(seat);
    else {
      forgetSeat();
      // A reload (or the invite opened again) still says why, instead of "not in this meeting".
      rememberFarewell({ meetingId: seat.meetingId, inviteToken: seat.inviteToken, text });
    }
    replaceChildren(
      outcome,
      h("p", {}, text),
      h(
        "div",
        { class: "actions" },
        keepSeat && h("button", { type: "button", onclick: rejoin }, "Rejoin in this tab"),
        h("a", { class: "button secondary", href: "./" }, "Create a new meeting"),
      ),
    );
    outcome.hidden = false;
    outcome.focus();
  });
  outcome.tabIndex = -1;

  conn.ready
    .then((joined) => {
      const { meeting } = joined;
      // The first join's history (or, resuming after a reload, what this tab missed) comes with the join.
      record(joined.chat);
      heading.textContent = meeting.title;
      document.title = `${conn.lobby.length > 0 ? `(${conn.lobby.length} waiting) ` : ""}${meeting.title} · MeetTime`;
      const schedule = schedulePanel(meeting, isHost, (update) =>
        mt.reschedule(seat.meetingId, seat.token, update).then((r) => r.meeting),
      );
      conn.on("meeting:datetime:changed", ({ meeting: changed, updatedBy }) => {
        const by = conn.participants.find((p) => p.id === updatedBy)?.name ?? "The host";
        schedule.show(changed, updatedBy === seat.participantId ? undefined : by);
      });
      conn.on("meeting:joined", ({ meeting: current }) => schedule.show(current));
      header.firstElementChild?.append(schedule.element);
      renderParticipants();
      const links = linksPanel({
        meetingLink: isHost
          ? {
              create: async (lobby) => {
                const { link, token } = await mt.createLink(seat.meetingId, seat.token, { lobby });
                return { link, url: new URL(`#join=${token}`, location.href).toString() };
              },
              list: async () => (await mt.listLinks(seat.meetingId, seat.token)).links,
              revoke: (linkId) => mt.revokeLink(seat.meetingId, seat.token, linkId),
              watch: (refresh) => {
                conn.on("meeting:participant-joined", refresh);
                conn.on("lobby:left", refresh);
              },
            }
          : undefined,
        invite: isHost
          ? async () => {
              const { tokens } = await mt.mintInvites(seat.meetingId, seat.token);
              return new URL(`#join=${tokens[0]?.token}`, location.href).toString();
            }
          : undefined,
        calendar: async () => mt.url((await mt.calendarToken(seat.meetingId, seat.token)).calendarUrl),
      });
      element.append(
        problem,
        h(
          "div",
          { class: "meeting-layout" },
          h("div", { class: "stage" }, call.element, h("div", { class: "actions" }, leave, hostActions)),
          h("div", { class: "sidebar" }, participants.element, chat.element, links),
        ),
      );
    })
    .catch(() => {
      // The final state event has already said why.
    });

  return {
    element,
    dispose() {
      disposed = true;
      window.removeEventListener("pagehide", flushChat);
      persistChat.flush();
      persistChat.cancel();
      call.stop();
      conn.close();
    },
  };
}

/** "End meeting" with an inline confirmation: ending is for everyone and cannot be undone. */
function endMeetingControl(terminate: () => Promise<unknown>, showProblem: (text: string) => void): HTMLElement {
  const end = h("button", { type: "button", class: "danger" }, "End meeting");
  const confirm = h("button", { type: "button", class: "danger" }, "End for everyone");
  const keep = h("button", { type: "button", class: "secondary" }, "Keep it going");
  const question = h(
    "div",
    { class: "actions", hidden: true, role: "group", "aria-label": "Confirm ending the meeting" },
    h("span", {}, "End the meeting for everyone?"),
    confirm,
    keep,
  );
  end.addEventListener("click", () => {
    end.hidden = true;
    question.hidden = false;
    keep.focus();
  });
  keep.addEventListener("click", () => {
    question.hidden = true;
    end.hidden = false;
    end.focus();
  });
  confirm.addEventListener("click", () => {
    confirm.disabled = true;
    terminate().catch((error) => {
      confirm.disabled = false;
      showProblem(`Could not end the meeting: ${describeError(error)}`);
    });
  });
  return h("span", { class: "actions" }, end, question);
}
