/**
 * The meeting's live sockets. Identity lives in each socket's attachment so
 * it survives hibernation; the in-memory index (who is connected, with which
 * role) is rebuilt from the attachments when the object wakes, so the hot
 * path never reads storage.
 */
import type { ErrorBody } from "../errors";
import { CLOSE } from "../protocol/close-codes";
import type { ParticipantStateData, ServerEventData } from "../protocol/schemas";

/**
 * A frame's arrival is recorded in the attachment at most this often: enough
 * for the liveness sweep after a wake (the limit is 60 s), without
 * re-serialising the attachment on every frame.
 */
export const ACTIVITY_RECORD_MS = 10_000;

export interface SocketIdentity {
  participantId: string;
  role: "host" | "participant";
  name: string;
  connectedAt: number;
  /** When a frame last arrived, as of the last time it was recorded (see ACTIVITY_RECORD_MS). */
  lastFrameAt?: number;
  /** Set before the server closes a socket on purpose, so a wake never counts it as live. */
  retired?: true;
  /**
   * The participant's live state (audio, video…), newer than storage until
   * the next presence flush (presence.ts); absent in attachments of sockets
   * accepted before it was kept here.
   */
  state?: ParticipantStateData;
}

interface LiveSocket {
  identity: SocketIdentity;
  lastActivityAt: number;
}

/** Serialises a server event once; the result is sent as is to every recipient. */
export function encodeEvent(event: ServerEventData): string {
  return JSON.stringify({ type: event.type, data: event.data, ts: new Date().toISOString() });
}

export function encodeError(error: ErrorBody, id?: string | number): string {
  return JSON.stringify(id === undefined ? { type: "error", error } : { type: "error", id, error });
}

export function encodeAck(id: string | number): string {
  return JSON.stringify({ type: "ack", id });
}

export class SocketRegistry {
  private readonly live = new Map<WebSocket, LiveSocket>();
  private readonly byParticipant = new Map<string, WebSocket>();

  /** Rebuilds the index from the sockets the runtime kept across hibernation. */
  constructor(sockets: WebSocket[]) {
    for (const ws of sockets) {
      const identity = attachmentOf(ws);
      if (!identity || identity.retired) continue;
      const other = this.byParticipant.get(identity.participantId);
      // Only the newest connection of a participant is live; an older one is mid-replacement.
      if (other && (this.live.get(other)?.identity.connectedAt ?? 0) > identity.connectedAt) continue;
      if (other) this.live.delete(other);
      this.index(ws, identity);
    }
  }

  private index(ws: WebSocket, identity: SocketIdentity): void {
    this.live.set(ws, { identity, lastActivityAt: identity.lastFrameAt ?? identity.connectedAt });
    this.byParticipant.set(identity.participantId, ws);
  }

  get size(): number {
    return this.live.size;
  }

  /** Registers a newly accepted socket; returns the socket it replaces, already retired. */
  add(ws: WebSocket, identity: SocketIdentity): WebSocket | undefined {
    ws.serializeAttachment(identity);
    const previous = this.retire(identity.participantId);
    this.index(ws, identity);
    return previous;
  }

  identity(ws: WebSocket): SocketIdentity | undefined {
    return this.live.get(ws)?.identity;
  }

  isConnected(participantId: string): boolean {
    return this.byParticipant.has(participantId);
  }

  socketOf(participantId: string): WebSocket | undefined {
    return this.byParticipant.get(participantId);
  }

  /**
   * Notes that a frame arrived. Pings never get here (the runtime answers
   * them); a client that only sends frames must still look alive after the
   * object was evicted, so the time also goes into the attachment, now and then.
   */
  touch(ws: WebSocket, now: number): void {
    const socket = this.live.get(ws);
    if (!socket) return;
    socket.lastActivityAt = now;
    const recorded = socket.identity.lastFrameAt ?? socket.identity.connectedAt;
    if (now - recorded < ACTIVITY_RECORD_MS) return;
    socket.identity = { ...socket.identity, lastFrameAt: now };
    try {
      ws.serializeAttachment(socket.identity);
    } catch {
      // Closed under us: nothing left to record.
    }
  }

  /** A connected participant's live state, when its socket carries one. */
  stateOf(participantId: string): ParticipantStateData | undefined {
    const ws = this.byParticipant.get(participantId);
    return ws ? this.live.get(ws)?.identity.state : undefined;
  }

  /** Records a live state change in the socket's attachment, so it survives hibernation and eviction. */
  setState(ws: WebSocket, state: ParticipantStateData): void {
    const socket = this.live.get(ws);
    if (!socket) return;
    socket.identity = { ...socket.identity, state };
    ws.serializeAttachment(socket.identity);
  }

  /** Every live socket's participant and state, for the presence flush. */
  *liveStates(): IterableIterator<[participantId: string, state: ParticipantStateData]> {
    for (const { identity } of this.live.values()) {
      if (identity.state) yield [identity.participantId, identity.state];
    }
  }

  lastActivityAt(ws: WebSocket): number {
    return this.live.get(ws)?.lastActivityAt ?? 0;
  }

  sockets(): IterableIterator<WebSocket> {
    return this.live.keys();
  }

  /**
   * Takes a participant's socket out of the live set and marks it retired, so
   * its coming close event is not reported as a disconnect. The caller closes it.
   */
  retire(participantId: string): WebSocket | undefined {
    const ws = this.byParticipant.get(participantId);
    if (!ws) return undefined;
    const socket = this.live.get(ws);
    this.live.delete(ws);
    this.byParticipant.delete(participantId);
    if (socket) markRetired(ws, socket.identity);
    return ws;
  }

  /**
   * Forgets a socket that closed or failed by itself; returns its identity
   * when it was its participant's live socket, once (an error and the close
   * after it are one disconnect).
   */
  forget(ws: WebSocket): SocketIdentity | undefined {
    const socket = this.live.get(ws);
    let identity: SocketIdentity | null | undefined = socket?.identity;
    if (socket) {
      this.live.delete(ws);
      this.byParticipant.delete(socket.identity.participantId);
    } else {
      // When the close itself woke the object, the runtime no longer listed this
      // socket as we rebuilt the index: its attachment says whether it was live.
      identity = attachmentOf(ws);
      if (!identity || identity.retired || this.byParticipant.has(identity.participantId)) return undefined;
    }
    markRetired(ws, identity!);
    return identity!;
  }

  /** Retires and closes every live socket (termination, expiry): nobody is reported as disconnected. */
  closeAll(code: number, reason: string): void {
    for (const ws of [...this.live.keys()]) {
      const identity = this.live.get(ws)?.identity;
      if (identity) this.retire(identity.participantId);
      closeQuietly(ws, code, reason);
    }
  }

  /** Sends one encoded frame to every live socket, optionally but one participant. */
  broadcast(frame: string, exceptParticipantId?: string): void {
    for (const [ws, socket] of this.live) {
      if (socket.identity.participantId !== exceptParticipantId) sendQuietly(ws, frame);
    }
  }
}

function markRetired(ws: WebSocket, identity: SocketIdentity): void {
  try {
    ws.serializeAttachment({ ...identity, retired: true });
  } catch {
    // Already closed: nothing left to mark.
  }
}

/** A participant's identity; null for a lobby socket's attachment (lobby.ts), which names no participant. */
function attachmentOf(ws: WebSocket): SocketIdentity | null {
  try {
    const attachment = ws.deserializeAttachment() as SocketIdentity | null;
    return typeof attachment?.participantId === "string" ? attachment : null;
  } catch {
    return null;
  }
}

/** Sends, ignoring a socket that closed under us: its close handler does the bookkeeping. */
export function sendQuietly(ws: WebSocket, frame: string): void {
  try {
    ws.send(frame);
  } catch {
    // The peer is gone.
  }
}

export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closed.
  }
}

/** Answers a client's close with the same code, or 1000 for codes that may not be sent (1005, 1006, 1015…). */
export function echoClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    closeQuietly(ws, CLOSE.NORMAL, reason);
  }
}
