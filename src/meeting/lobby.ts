/**
 * The lobby (contract 1.2): people who joined with a lobby link wait here
 * until a host admits or denies them. Every wait is a `lobby_request` row
 * with a deadline (its wait token's expiry, or 60 s after its lobby socket
 * went away), so a wait survives eviction and restart and always ends: the
 * alarm ends the overdue ones. The waiting guest's socket is tagged with its
 * request and carries a lobby attachment, never a participant identity, so
 * the socket registry does not count it. An answer is written at once
 * (atomically with the participant and the link's use, for an admission) and
 * delivered to the guest's socket after: right away when it is connected,
 * otherwise when it comes back within its window. Only then is the row
 * deleted, and the wait token refused from then on.
 */
import type { TokenClaims } from "../auth/tokens";
import { AppError } from "../errors";
import { iceFieldsFor } from "../ice/answer";
import { log } from "../log";
import { CLOSE } from "../protocol/close-codes";
import type { JoinWaitingData, LobbyEntryData, MediaModeData, ParticipantData } from "../protocol/schemas";
import { requireActive, requireMeeting, requireOwnToken } from "./access";
import { SILENCE_LIMIT_MS } from "./connection";
import type { RoomContext } from "./context";
import { liveParticipantView } from "./live-views";
import { newParticipant, requireRoom } from "./membership";
import { closeQuietly, encodeEvent, sendQuietly } from "./socket-registry";
import type { LinkRow, LobbyRequestRow, MeetingRow } from "./store";
import { iso, wholeSeconds } from "./views";

/** At most this many people wait at once (409 LOBBY_FULL). */
export const LOBBY_LIMIT = 50;
/** A wait token's lifetime. */
export const WAIT_TOKEN_MS = 15 * 60_000;
/** A guest without a lobby socket this long (never opened, or closed and not back) leaves the lobby. */
export const LOBBY_ABSENCE_MS = 60_000;

const DEFAULT_DENIAL = "the host did not let you in";
const TIMED_OUT = "nobody let you in in time";
const ENDED = "the meeting has ended";

/** What a lobby socket carries in its attachment instead of a participant identity. */
export interface LobbyAttachment {
  kind: "lobby";
  requestId: string;
  connectedAt: number;
  /** Set before the server closes or replaces the socket, so its close is not taken for the guest leaving. */
  retired?: true;
}

const lobbyTag = (requestId: string) => `lobby:${requestId}`;

/** The socket's lobby attachment, or null for a participant's socket. */
export function lobbyAttachment(ws: WebSocket): LobbyAttachment | null {
  try {
    const attachment = ws.deserializeAttachment() as { kind?: unknown } | null;
    return attachment?.kind === "lobby" ? (attachment as LobbyAttachment) : null;
  } catch {
    return null;
  }
}

function retireLobbySocket(ws: WebSocket, attachment: LobbyAttachment): void {
  try {
    ws.serializeAttachment({ ...attachment, retired: true });
  } catch {
    // Already closed.
  }
}

/** The request's open lobby socket (the newest; older ones are retired as they are replaced). */
function lobbySocketOf(room: RoomContext, requestId: string): WebSocket | undefined {
  return room.ctx.getWebSockets(lobbyTag(requestId)).find((ws) => {
    const attachment = lobbyAttachment(ws);
    return attachment && !attachment.retired && ws.readyState === WebSocket.OPEN;
  });
}

/** Every lobby socket not yet retired. */
function openLobbySockets(room: RoomContext): [WebSocket, LobbyAttachment][] {
  const open: [WebSocket, LobbyAttachment][] = [];
  for (const ws of room.ctx.getWebSockets()) {
    const attachment = lobbyAttachment(ws);
    if (attachment && !attachment.retired) open.push([ws, attachment]);
  }
  return open;
}

/** How the admitted guest's media runs. One place, so the SFU mode extends it. */
export function mediaFor(_room: RoomContext): MediaModeData {
  return { mode: "mesh" };
}

export function lobbyEntry(request: LobbyRequestRow): LobbyEntryData {
  return { requestId: request.id, name: request.name, linkId: request.linkId, at: iso(request.requestedAt) };
}

/** The lobby as a host's `meeting:joined` carries it. */
export function lobbyView(room: RoomContext): LobbyEntryData[] {
  return room.store.waitingRequests().map(lobbyEntry);
}

/** Sends a frame to every connected host: only hosts see the lobby. */
function tellHosts(room: RoomContext, frame: string): void {
  for (const ws of room.sockets.sockets()) {
    if (room.sockets.identity(ws)?.role === "host") sendQuietly(ws, frame);
  }
}

function announceLeftLobby(room: RoomContext, requestId: string, reason: "admitted" | "denied" | "gone"): void {
  tellHosts(room, encodeEvent({ type: "lobby:left", data: { requestId, reason } }));
}

// ------------------------------------------------------------------ the guest knocks

/** A join by a lobby link: the guest waits, hosts are told now. The link was checked by the caller. */
export async function knock(
  room: RoomContext,
  meeting: MeetingRow,
  link: LinkRow,
  name: string,
): Promise<JoinWaitingData> {
  const now = Date.now();
  const requestId = crypto.randomUUID();
  const expiresAt = wholeSeconds(Math.min(now + WAIT_TOKEN_MS, meeting.expiresAt));
  // The caller's checks, this limit and the write run without an await between them (atomic in the object).
  if (room.store.waitingCount() >= LOBBY_LIMIT) {
    throw new AppError("LOBBY_FULL", `${LOBBY_LIMIT} people already wait in this meeting's lobby`);
  }
  const request: LobbyRequestRow = {
    id: requestId,
    linkId: link.id,
    name,
    requestedAt: now,
    expiresAt,
    // The wait counts as absent until its lobby socket opens.
    deadline: Math.min(expiresAt, now + LOBBY_ABSENCE_MS),
    answer: null,
    participantId: null,
    reason: null,
  };
  room.store.insertLobbyRequest(request);
  tellHosts(room, encodeEvent({ type: "lobby:knock", data: lobbyEntry(request) }));
  log("info", "lobby.knocked", { meetingId: room.meetingId, requestId });
  // Past the write nothing may fail the answer (a 503 means nothing changed): signing cannot (the caller
  // checked the secret), and a failed arming is only logged; the meeting's alarm, always armed, re-arms it.
  await quietly(room, room.alarm.schedule());
  const waitToken = await room.credentials.wait(meeting, requestId, expiresAt);
  return { status: "waiting", requestId, waitToken, wsUrl: `/api/meetings/${meeting.id}/ws` };
}

// ------------------------------------------------------------------ the guest's lobby socket

/**
 * The upgrade with a wait token: 403 once the wait ended (answered and told,
 * gone, expired), 410 once the meeting ended. A newer socket of the same
 * request replaces an older one, which is closed with 4009 and no frame.
 */
export function connectLobbySocket(room: RoomContext, claims: TokenClaims, answerSubprotocol: boolean): Response {
  requireOwnToken(room, claims);
  const meeting = requireMeeting(room);
  const request = room.store.lobbyRequest(claims.tokenId);
  if (!request) throw new AppError("FORBIDDEN", "this wait has ended");
  requireActive(meeting);
  const { 0: client, 1: server } = new WebSocketPair();
  const older = room.ctx.getWebSockets(lobbyTag(request.id));
  room.ctx.acceptWebSocket(server, [lobbyTag(request.id)]);
  try {
    server.serializeAttachment({ kind: "lobby", requestId: request.id, connectedAt: Date.now() });
    server.send(encodeEvent({ type: "lobby:waiting", data: { requestId: request.id } }));
    // While the socket is open the wait lasts as long as its token.
    room.store.setLobbyDeadline(request.id, request.expiresAt);
  } catch (error) {
    closeQuietly(server, 1011, "internal error");
    throw error;
  }
  for (const ws of older) {
    const attachment = lobbyAttachment(ws);
    if (attachment) retireLobbySocket(ws, attachment);
    closeQuietly(ws, CLOSE.REPLACED, "replaced by a newer connection");
  }
  if (request.answer) inBackground(room, deliverAnswer(room, request.id));
  inBackground(room, room.alarm.schedule());
  return new Response(null, {
    status: 101,
    webSocket: client,
    headers: answerSubprotocol ? { "Sec-WebSocket-Protocol": "meettime" } : undefined,
  });
}

/** The guest's lobby socket closed by itself: the wait goes on for LOBBY_ABSENCE_MS without it. */
export async function lobbySocketGone(room: RoomContext, ws: WebSocket, attachment: LobbyAttachment): Promise<void> {
  if (attachment.retired) return;
  retireLobbySocket(ws, attachment);
  markAbsent(room, attachment.requestId, Date.now());
  await room.alarm.schedule();
}

function markAbsent(room: RoomContext, requestId: string, since: number): void {
  if (lobbySocketOf(room, requestId)) return; // A newer socket of the same guest is open.
  const request = room.store.lobbyRequest(requestId);
  if (request) room.store.setLobbyDeadline(requestId, Math.min(request.expiresAt, since + LOBBY_ABSENCE_MS));
}

// ------------------------------------------------------------------ hosts answer

/** A request no host has answered yet, or 404 (unknown, answered, or gone). */
function waitingRequest(room: RoomContext, requestId: string): LobbyRequestRow {
  const request = room.store.lobbyRequest(requestId);
  if (!request || request.answer !== null) throw new AppError("NOT_FOUND", "nobody waits with this request");
  return request;
}

/**
 * Admits a waiting guest as a new participant. The link's `maxUses` (409
 * LINK_EXHAUSTED) and the meeting's `maxParticipants` (409 MEETING_FULL) are
 * counted now; either refusal leaves the guest waiting. Checks and writes run
 * without an await between them, so of two hosts admitting at once, or an
 * admission racing a revocation, exactly one wins.
 */
export function admitRequest(room: RoomContext, meeting: MeetingRow, requestId: string): ParticipantData {
  room.credentials.requireSecret();
  const request = waitingRequest(room, requestId);
  // A link collected after it expired no longer counts uses; its waiters knocked while it was valid.
  const link = room.store.link(request.linkId);
  if (link && link.uses >= link.maxUses) {
    throw new AppError("LINK_EXHAUSTED", `this meeting link already admitted ${link.maxUses} people`);
  }
  requireRoom(room, meeting);
  const now = Date.now();
  const participant = newParticipant(request.name, now);
  room.store.transaction(() => {
    room.store.insertParticipant(participant);
    if (link) room.store.countLinkUse(link.id);
    room.store.answerLobbyRequest(request.id, "admitted", participant.id, null);
  });
  log("info", "lobby.admitted", { meetingId: room.meetingId, requestId, participantId: participant.id });
  room.metrics.count("participant_joined", { meetingId: room.meetingId });
  announceLeftLobby(room, request.id, "admitted");
  inBackground(room, deliverAnswer(room, request.id));
  return liveParticipantView(room, participant);
}

export function denyRequest(room: RoomContext, requestId: string, reason?: string): string {
  const request = waitingRequest(room, requestId);
  room.store.answerLobbyRequest(request.id, "denied", null, reason || DEFAULT_DENIAL);
  announceLeftLobby(room, request.id, "denied");
  inBackground(room, deliverAnswer(room, request.id));
  log("info", "lobby.denied", { meetingId: room.meetingId, requestId });
  return request.id;
}

/** Denies everyone waiting on a link; the caller runs it in the transaction that revokes the link. */
export function denyWaitersOf(room: RoomContext, linkId: string, reason: string): string[] {
  const waiting = room.store.waitingRequests(linkId);
  for (const request of waiting) room.store.answerLobbyRequest(request.id, "denied", null, reason);
  return waiting.map((request) => request.id);
}

/** Tells hosts and guests about denials written by `denyWaitersOf`, once they committed. */
export function announceDenials(room: RoomContext, requestIds: string[]): void {
  for (const requestId of requestIds) {
    announceLeftLobby(room, requestId, "denied");
    inBackground(room, deliverAnswer(room, requestId));
  }
}

/**
 * Sends a written answer to the guest's open lobby socket, then closes it
 * (1000 after `lobby:admitted`, 4003 after `lobby:denied`) and deletes the
 * request. Without an open socket the answer waits for the guest's return.
 * An admission's session token and ICE servers are made here, after the
 * admission committed: a slow TURN provider delays this frame only.
 */
async function deliverAnswer(room: RoomContext, requestId: string): Promise<void> {
  const request = room.store.lobbyRequest(requestId);
  const ws = lobbySocketOf(room, requestId);
  if (!request?.answer || !ws) return;
  const frame = request.answer === "admitted" ? await admittedFrame(room, request) : undefined;
  // After the awaits: only the first delivery to the socket still open sends.
  if (!room.store.lobbyRequest(requestId) || lobbySocketOf(room, requestId) !== ws) return;
  room.store.deleteLobbyRequest(requestId);
  retireLobbySocket(ws, { kind: "lobby", requestId, connectedAt: 0 });
  if (frame) {
    sendQuietly(ws, frame);
    closeQuietly(ws, CLOSE.NORMAL, "admitted");
  } else {
    const reason = request.answer === "denied" ? (request.reason ?? DEFAULT_DENIAL) : ENDED;
    sendQuietly(ws, encodeEvent({ type: "lobby:denied", data: { reason } }));
    closeQuietly(ws, CLOSE.KICKED, "denied");
  }
}

/** The admitted guest's frame, or undefined when it can no longer get in (removed or the meeting ended since). */
async function admittedFrame(room: RoomContext, request: LobbyRequestRow): Promise<string | undefined> {
  const meeting = room.meeting.get();
  const participant = request.participantId ? room.store.participant(request.participantId) : null;
  if (meeting?.status !== "active" || !participant || participant.removedAt !== null) return undefined;
  const { sessionToken } = await room.credentials.session(meeting, participant.id, Date.now());
  const ice = await iceFieldsFor(room.env, participant.id, sessionToken);
  return encodeEvent({
    type: "lobby:admitted",
    data: { participant: liveParticipantView(room, participant), sessionToken, ...ice, media: mediaFor(room) },
  });
}

// ------------------------------------------------------------------ waits that end by themselves

/**
 * The alarm's part: lobby sockets silent past SILENCE_LIMIT_MS are dropped
 * (a closed tab sends no close frame), then every wait past its deadline
 * ends: hosts get `lobby:left` with `gone`, a still open socket (its wait
 * token expired) gets `lobby:denied`, and the row goes.
 */
export function endOverdueWaits(room: RoomContext, now: number): void {
  for (const [ws, attachment] of openLobbySockets(room)) {
    const lastPing = room.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    if (now - Math.max(lastPing, attachment.connectedAt) <= SILENCE_LIMIT_MS) continue;
    retireLobbySocket(ws, attachment);
    closeQuietly(ws, CLOSE.SILENT, "no heartbeat");
    markAbsent(room, attachment.requestId, now);
  }
  for (const request of room.store.overdueLobbyRequests(now)) {
    room.store.deleteLobbyRequest(request.id);
    if (request.answer === null) announceLeftLobby(room, request.id, "gone");
    const ws = lobbySocketOf(room, request.id);
    if (ws) closeLobbySocket(ws, request.id, TIMED_OUT);
    log("info", "lobby.gone", { meetingId: room.meetingId, requestId: request.id });
  }
}

/** The meeting ended or expired: every waiting guest is told so, and the lobby is emptied. */
export function closeLobby(room: RoomContext): void {
  for (const [ws, attachment] of openLobbySockets(room)) closeLobbySocket(ws, attachment.requestId, ENDED);
  room.store.deleteAllLobbyRequests();
}

function closeLobbySocket(ws: WebSocket, requestId: string, reason: string): void {
  retireLobbySocket(ws, { kind: "lobby", requestId, connectedAt: 0 });
  sendQuietly(ws, encodeEvent({ type: "lobby:denied", data: { reason } }));
  closeQuietly(ws, CLOSE.KICKED, "denied");
}

/** Work after the decision was written: failures are logged, never thrown at a door that already decided. */
function quietly(room: RoomContext, work: Promise<unknown>): Promise<unknown> {
  return work.catch((error) =>
    log("error", "lobby.after_write_failed", { meetingId: room.meetingId, error: String(error) }),
  );
}

/** `quietly`, without holding up the answer. */
function inBackground(room: RoomContext, work: Promise<unknown>): void {
  room.ctx.waitUntil(quietly(room, work));
}
