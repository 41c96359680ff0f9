/**
 * Views with presence: who is connected, and each connected participant's
 * live state (newer than storage until the next presence flush), taken from
 * the socket registry. Reads at most the listed participants.
 */
import type { MeetingData, ParticipantData } from "../protocol/schemas";
import type { RoomContext } from "./context";
import type { SocketRegistry } from "./socket-registry";
import type { MeetingRow, ParticipantRow } from "./store";
import { meetingView, participantView } from "./views";

/** A connected participant's state is its socket's (newer than storage until the next presence flush). */
export function withLiveState(sockets: SocketRegistry, p: ParticipantRow): ParticipantRow {
  const state = sockets.stateOf(p.id);
  return state ? { ...p, state } : p;
}

export function liveParticipantView(room: RoomContext, p: ParticipantRow): ParticipantData {
  return participantView(withLiveState(room.sockets, p), room.sockets.isConnected(p.id));
}

/** `connecting`: a participant whose socket is about to be registered, shown as connected. */
export function liveMeetingView(room: RoomContext, m: MeetingRow, connecting?: string): MeetingData {
  const listed = room.store.listedParticipants().map((p) => withLiveState(room.sockets, p));
  return meetingView(m, listed, (id) => id === connecting || room.sockets.isConnected(id));
}
