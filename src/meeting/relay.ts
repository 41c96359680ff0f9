/**
 * What participants send each other through the meeting: chat (stored, with
 * a `seq`), WebRTC signaling (to one participant, never stored) and state
 * updates (audio, video, screen, hand). The hot path: no storage read, one
 * encode per broadcast.
 */
import { AppError } from "../errors";
import type { ParticipantStateData } from "../protocol/schemas";
import type { RoomContext } from "./context";
import { applyStateUpdate } from "./presence";
import { encodeEvent, type SocketIdentity, sendQuietly } from "./socket-registry";
import { DEFAULT_STATE } from "./store";
import { chatView } from "./views";

export function relayChat(room: RoomContext, sender: SocketIdentity, text: string): void {
  const row = room.chat.append(sender.participantId, sender.name, text, Date.now());
  room.sockets.broadcast(encodeEvent({ type: "chat:new-message", data: chatView(row) }));
  room.relayed.frames++;
  room.metrics.count("chat_message", { meetingId: room.meetingId });
}

/** Sends an encoded signaling frame to one connected participant. */
export function relaySignal(room: RoomContext, to: string, frame: string): void {
  const target = room.sockets.socketOf(to);
  if (!target) throw new AppError("NOT_FOUND", "no connected participant with that id");
  // Bounded into one participant whatever the number of senders; not counted as the sender flooding.
  if (!room.frameLimits.allowSignalingInto(to, Date.now())) {
    throw new AppError("RATE_LIMITED", "that participant receives too much signaling right now; retry shortly");
  }
  sendQuietly(target, frame);
  room.relayed.frames++;
}

/**
 * A live socket proves its participant is listed (kick and leave retire it
 * first), so no storage is read here: the state lives in the socket's
 * attachment, is broadcast at once, and reaches storage in a write shared
 * by every change of the next PRESENCE_FLUSH_MS (presence.ts); the ack
 * waits for that write, so an acknowledged state survives a crash. An
 * update that changes nothing is acknowledged at once (contract 1.1).
 * `ackLater` takes the frame's ack and returns the function that sends it.
 */
export function updateState(
  room: RoomContext,
  ws: WebSocket,
  participantId: string,
  update: Partial<ParticipantStateData>,
  ackLater: () => () => void,
): void {
  // Sockets accepted before the state rode in attachments read it from storage once.
  const current = room.sockets.identity(ws)?.state ?? room.store.participant(participantId)?.state ?? DEFAULT_STATE;
  const state = applyStateUpdate(current, update);
  if (!state) return;
  room.sockets.setState(ws, state);
  room.presence.changed(ackLater());
  room.sockets.broadcast(encodeEvent({ type: "participant:updated", data: { participantId, state } }));
  room.relayed.frames++;
}
