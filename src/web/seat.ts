/**
 * The tab's seat in a meeting, kept in sessionStorage so a reload rejoins
 * the same seat (same participant, same token) instead of spending a new
 * invite, and resumes the chat with `since=<last seq>` from the messages
 * this tab already showed. sessionStorage is per tab: a second tab is a
 * second person unless it is given the same link, and closing the tab
 * forgets the seat. A place in a meeting's lobby is kept the same way.
 */
import type { LobbyTicket } from "../client/lobby-wait";
import type { ChatMessageData, IceServer, IceServersInfo, ParticipantData } from "../client/types";

export interface Seat {
  meetingId: string;
  /** The host token or the participant's session token (renewed in place). */
  token: string;
  role: "host" | "participant";
  participantId: string;
  name: string;
  /** The invite (or meeting link) this seat was taken with, so reopening the same link returns here instead of joining again. */
  inviteToken?: string;
  /** The ICE servers of the create or join answer (or their last refresh), so a reload can start the call at once. */
  iceServers?: IceServer[];
  iceServersExpiresAt?: string;
  /** The chat this tab has shown, oldest first; its last `seq` is where a reconnect resumes. */
  chat: readonly ChatMessageData[];
}

/** What a create or join answer tells about the seat it gives. */
type SeatAnswer = { meeting: { id: string }; participant: ParticipantData } & IceServersInfo;

/** The seat a create or join answer gives, with that answer's token (host or session); no chat shown yet. */
export function seatFrom(answer: SeatAnswer, token: string, inviteToken?: string): Seat {
  const { participant } = answer;
  return {
    meetingId: answer.meeting.id,
    token,
    role: participant.role,
    participantId: participant.id,
    name: participant.name,
    inviteToken,
    iceServers: answer.iceServers,
    iceServersExpiresAt: answer.iceServersExpiresAt,
    chat: [],
  };
}

const KEY = "meettime.seat";
/** Enough history for a reload to show the conversation without asking the server for all of it again. */
export const KEPT_MESSAGES = 200;

export function loadSeat(): Seat | null {
  try {
    const text = sessionStorage.getItem(KEY);
    if (!text) return null;
    const seat = JSON.parse(text) as Partial<Seat>;
    if (typeof seat.meetingId !== "string" || typeof seat.token !== "string") return null;
    if (typeof seat.participantId !== "string" || typeof seat.name !== "string") return null;
    return {
      meetingId: seat.meetingId,
      token: seat.token,
      role: seat.role === "host" ? "host" : "participant",
      participantId: seat.participantId,
      name: seat.name,
      inviteToken: typeof seat.inviteToken === "string" ? seat.inviteToken : undefined,
      chat: Array.isArray(seat.chat) ? seat.chat : [],
      ...(Array.isArray(seat.iceServers) && typeof seat.iceServersExpiresAt === "string"
        ? { iceServers: seat.iceServers, iceServersExpiresAt: seat.iceServersExpiresAt }
        : {}),
    };
  } catch {
    // Storage disabled or a corrupt entry: start without a seat rather than fail.
    return null;
  }
}

export function saveSeat(seat: Seat) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify({ ...seat, chat: seat.chat.slice(-KEPT_MESSAGES) }));
  } catch {
    // Private mode or a full quota: the meeting still works, a reload just costs the seat.
  }
}

export function forgetSeat() {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Nothing stored to forget.
  }
}

/**
 * A place in a meeting's lobby (contract 1.2): the wait's ticket, the link it
 * was asked with, and what the waiting page shows, so a reload keeps the
 * place instead of knocking again.
 */
export interface WaitingPlace extends LobbyTicket {
  linkToken: string;
  name: string;
  /** The meeting as the link read it, if it could. */
  title?: string;
  scheduledAt?: string;
  timezone?: string;
}

const LOBBY_KEY = "meettime.lobby";

/** This tab's place in a lobby, if it waits with `linkToken`. */
export function loadWaitingPlace(linkToken: string): WaitingPlace | null {
  try {
    const place = JSON.parse(sessionStorage.getItem(LOBBY_KEY) ?? "null") as Partial<WaitingPlace> | null;
    if (place?.linkToken !== linkToken) return null;
    if (typeof place.meetingId !== "string" || typeof place.requestId !== "string") return null;
    if (typeof place.waitToken !== "string" || typeof place.name !== "string") return null;
    const text = (value: unknown) => (typeof value === "string" ? value : undefined);
    return {
      linkToken,
      meetingId: place.meetingId,
      requestId: place.requestId,
      waitToken: place.waitToken,
      name: place.name,
      title: text(place.title),
      scheduledAt: text(place.scheduledAt),
      timezone: text(place.timezone),
    };
  } catch {
    return null;
  }
}

export function saveWaitingPlace(place: WaitingPlace) {
  try {
    sessionStorage.setItem(LOBBY_KEY, JSON.stringify(place));
  } catch {
    // Without storage a reload loses the place: the guest asks again.
  }
}

export function forgetWaitingPlace() {
  try {
    sessionStorage.removeItem(LOBBY_KEY);
  } catch {
    // Nothing stored to forget.
  }
}

const FAREWELL_KEY = "meettime.farewell";

/** Why this tab's seat in a meeting ended (or its wait in the lobby), kept so a reload still says it. */
export interface Farewell {
  meetingId: string;
  inviteToken?: string;
  /** The page's heading; "You are no longer in this meeting" when absent. */
  heading?: string;
  text: string;
}

export function rememberFarewell(farewell: Farewell) {
  try {
    sessionStorage.setItem(FAREWELL_KEY, JSON.stringify(farewell));
  } catch {
    // Without storage a reload shows the general "not in this meeting" page instead.
  }
}

/** The farewell of the meeting `meetingId` (or of the seat taken with `inviteToken`), if this tab has one. */
export function farewellFor(match: { meetingId?: string; inviteToken?: string }): Farewell | null {
  try {
    const farewell = JSON.parse(sessionStorage.getItem(FAREWELL_KEY) ?? "null") as Partial<Farewell> | null;
    if (typeof farewell?.meetingId !== "string" || typeof farewell.text !== "string") return null;
    const same =
      (match.meetingId !== undefined && farewell.meetingId === match.meetingId) ||
      (match.inviteToken !== undefined && farewell.inviteToken === match.inviteToken);
    if (!same) return null;
    const heading = typeof farewell.heading === "string" ? { heading: farewell.heading } : {};
    return { meetingId: farewell.meetingId, inviteToken: farewell.inviteToken, ...heading, text: farewell.text };
  } catch {
    return null;
  }
}

/** The `seq` a reconnect resumes after; undefined asks the server for its recent history. */
export function lastSeq(seat: Seat): number | undefined {
  return seat.chat.at(-1)?.seq;
}
