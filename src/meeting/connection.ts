/**
 * A participant's socket: the upgrade the worker forwards (after it verified
 * the token), a socket going away by itself, and sockets the server closes
 * (silent, flooding). Identity and live state ride in each socket's
 * attachment, so a woken object knows who is connected without storage.
 */
import type { TokenClaims } from "../auth/tokens";
import { AppError } from "../errors";
import { log } from "../log";
import { CLOSE } from "../protocol/close-codes";
import { authorizeActive, MEMBERS } from "./access";
import type { RoomContext } from "./context";
import { buildJoinedFrame } from "./joined-frame";
import { liveMeetingView, withLiveState } from "./live-views";
import { joinedMedia, withdrawMedia } from "./media";
import { closeQuietly, encodeEvent, type SocketIdentity, sendQuietly } from "./socket-registry";
import type { MeetingRow, ParticipantRow } from "./store";
import { chatView, participantView } from "./views";

/** Internal headers by which the worker hands verified token claims and options to the object. */
export const CLAIMS_HEADER = "x-meettime-claims";
export const SINCE_HEADER = "x-meettime-since";
export const SUBPROTOCOL_HEADER = "x-meettime-subprotocol";

/** A socket silent (no ping, no frame) this long is dropped by the next sweep. */
export const SILENCE_LIMIT_MS = 60_000;

const CHAT_ON_JOIN = 50;

/** The WebSocket upgrade: checks the forwarded claims, then accepts the participant's socket. */
export async function connectSocket(room: RoomContext, request: Request): Promise<Response> {
  const claims = JSON.parse(request.headers.get(CLAIMS_HEADER) ?? "null") as TokenClaims | null;
  if (!claims) throw new AppError("UNAUTHORIZED", "missing token");
  const sinceHeader = request.headers.get(SINCE_HEADER);
  const since = sinceHeader === null ? undefined : Number(sinceHeader);
  const { meeting, participant } = authorizeActive(room, claims, MEMBERS);
  return acceptSocket(room, meeting, participant, since, request.headers.has(SUBPROTOCOL_HEADER));
}

async function acceptSocket(
  room: RoomContext,
  meeting: MeetingRow,
  participant: ParticipantRow,
  since: number | undefined,
  answerSubprotocol: boolean,
): Promise<Response> {
  // Everything that can fail comes first: reads, the frame built and sized, the alarm armed.
  // Until the socket is registered nobody has seen it, so a failure is a plain HTTP error.
  const live = withLiveState(room.sockets, participant);
  const self = participantView(live, true);
  const chat = room.store.chatHistory(since, CHAT_ON_JOIN).map((row) => chatView(row));
  const joined = buildJoinedFrame(
    self,
    liveMeetingView(room, meeting, participant.id),
    chat,
    joinedMedia(room, meeting),
  );
  await room.alarm.schedule(true);
  const identity: SocketIdentity = {
    participantId: participant.id,
    role: participant.role,
    name: participant.name,
    connectedAt: Date.now(),
    state: live.state,
  };
  const { 0: client, 1: server } = new WebSocketPair();
  room.ctx.acceptWebSocket(server, [participant.id]);
  let replaced: WebSocket | undefined;
  try {
    server.send(joined);
    replaced = room.sockets.add(server, identity);
  } catch (error) {
    // Never registered (add serialises the attachment before it retires anything): close it, answer an error.
    closeQuietly(server, 1011, "internal error");
    throw error;
  }
  // From here on only sends, which do not throw.
  if (replaced) {
    sendQuietly(replaced, encodeEvent({ type: "session:replaced", data: {} }));
    closeQuietly(replaced, CLOSE.REPLACED, "replaced by a newer connection");
  } else {
    room.sockets.broadcast(
      encodeEvent({ type: "meeting:participant-joined", data: { participant: self } }),
      participant.id,
    );
  }
  log("debug", "meeting.connected", {
    meetingId: room.meetingId,
    participantId: participant.id,
    replaced: !!replaced,
  });
  return new Response(null, {
    status: 101,
    webSocket: client,
    headers: answerSubprotocol ? { "Sec-WebSocket-Protocol": "meettime" } : undefined,
  });
}

/** A socket went away by itself (closed or failed): its participant stays listed, now disconnected. */
export function socketGone(room: RoomContext, ws: WebSocket): void {
  const identity = room.sockets.forget(ws);
  if (!identity) return;
  announceLeft(room, identity.participantId, "disconnected");
  // Storage becomes the only home of its state once the socket is gone.
  if (identity.state) room.presence.flushQuietly([identity.participantId, identity.state]);
}

/** Closes a live socket on the server's initiative and reports it as disconnected. */
export function disconnect(room: RoomContext, ws: WebSocket, code: number, reason: string): void {
  const identity = room.sockets.identity(ws);
  if (!identity) return;
  retireKeepingState(room, identity.participantId);
  closeQuietly(ws, code, reason);
  announceLeft(room, identity.participantId, "disconnected");
}

/** Retires a participant's socket after writing its live state, which storage alone keeps from now on. */
export function retireKeepingState(room: RoomContext, participantId: string): WebSocket | undefined {
  const state = room.sockets.stateOf(participantId);
  if (state) room.presence.flushQuietly([participantId, state]);
  return room.sockets.retire(participantId);
}

/** Tells everyone still connected that a participant's socket is gone, and why. */
export function announceLeft(
  room: RoomContext,
  participantId: string,
  reason: "left" | "disconnected" | "kicked",
): void {
  // Its tracks go first (`media:tracks` with an empty list), so nobody keeps a tile of someone gone.
  withdrawMedia(room, participantId, reason);
  room.sockets.broadcast(encodeEvent({ type: "meeting:participant-left", data: { participantId, reason } }));
}

/** Drops sockets silent past SILENCE_LIMIT_MS (a closed tab sends no close frame). */
export function sweepSilentSockets(room: RoomContext, now: number): void {
  for (const ws of [...room.sockets.sockets()]) {
    const lastPing = room.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    const lastHeard = Math.max(lastPing, room.sockets.lastActivityAt(ws));
    if (now - lastHeard > SILENCE_LIMIT_MS) disconnect(room, ws, CLOSE.SILENT, "no heartbeat");
  }
}
