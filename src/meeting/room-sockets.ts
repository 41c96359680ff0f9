/**
 * The meeting's hibernatable WebSockets: the upgrade the worker forwards,
 * frame admission (size and bucket before parsing), the frame handlers and
 * the close and error hooks. Identity and live state ride in each socket's
 * attachment, so a woken object knows who is connected without storage.
 */
import type { TokenClaims } from "../auth/tokens";
import { AppError, errorResponse } from "../errors";
import { log } from "../log";
import { CLOSE } from "../protocol/close-codes";
import type { ClientFrameData } from "../protocol/schemas";
import { MEMBERS } from "./access";
import { admitFrame, bucketOf, type FrameBucket, parseClientFrame, peekFrameId } from "./frames";
import { buildJoinedFrame } from "./joined-frame";
import { applyStateUpdate } from "./presence";
import { MeetingRules } from "./room-rules";
import {
  closeQuietly,
  echoClose,
  encodeAck,
  encodeError,
  encodeEvent,
  type SocketIdentity,
  sendQuietly,
} from "./sockets";
import { type ChatRow, DEFAULT_STATE, type MeetingRow, type ParticipantRow } from "./store";
import { chatView, participantView } from "./views";

/** Internal header by which the worker hands verified token claims to the object. */
export const CLAIMS_HEADER = "x-meettime-claims";
export const SINCE_HEADER = "x-meettime-since";
export const SUBPROTOCOL_HEADER = "x-meettime-subprotocol";

const CHAT_ON_JOIN = 50;

export abstract class MeetingSockets extends MeetingRules {
  /** Sockets already reported as rate limited: one log line per connection, not per frame. */
  private readonly reportedRateLimited = new WeakSet<WebSocket>();

  /** The WebSocket upgrade, forwarded by the worker after it verified the token. */
  async fetch(request: Request): Promise<Response> {
    try {
      const claims = JSON.parse(request.headers.get(CLAIMS_HEADER) ?? "null") as TokenClaims | null;
      if (!claims) throw new AppError("UNAUTHORIZED", "missing token");
      const sinceHeader = request.headers.get(SINCE_HEADER);
      const since = sinceHeader === null ? undefined : Number(sinceHeader);
      const { meeting, participant } = this.authorizeActive(claims, MEMBERS);
      return await this.acceptSocket(meeting, participant, since, request.headers.has(SUBPROTOCOL_HEADER));
    } catch (error) {
      if (error instanceof AppError) return errorResponse(error);
      log("error", "meeting.internal_error", { action: "connect", error: String(error) });
      return errorResponse(new AppError("INTERNAL", "internal error"));
    }
  }

  private async acceptSocket(
    meeting: MeetingRow,
    participant: ParticipantRow,
    since: number | undefined,
    answerSubprotocol: boolean,
  ): Promise<Response> {
    // Everything that can fail comes first: reads, the frame built and sized, the alarm armed.
    // Until the socket is registered nobody has seen it, so a failure is a plain HTTP error.
    const live = this.withLiveState(participant);
    const self = participantView(live, true);
    const chat = this.store.chatHistory(since, CHAT_ON_JOIN).map((row) => chatView(row));
    const joined = buildJoinedFrame(self, this.meetingView(meeting, participant.id), chat);
    await this.scheduleAlarm(true);
    const identity: SocketIdentity = {
      participantId: participant.id,
      role: participant.role,
      name: participant.name,
      connectedAt: Date.now(),
      state: live.state,
    };
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [participant.id]);
    let replaced: WebSocket | undefined;
    try {
      server.send(joined);
      replaced = this.sockets.add(server, identity);
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
      this.sockets.broadcast(
        encodeEvent({ type: "meeting:participant-joined", data: { participant: self } }),
        participant.id,
      );
    }
    log("debug", "meeting.connected", { meetingId: meeting.id, participantId: participant.id, replaced: !!replaced });
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: answerSubprotocol ? { "Sec-WebSocket-Protocol": "meettime" } : undefined,
    });
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const identity = this.sockets.identity(ws);
    if (!identity) return; // A socket we retired; its close is on the way.
    const now = Date.now();
    this.sockets.touch(ws, now);
    // Size and bucket before any parsing (contract 1.1); frames.ts says how the bucket is picked unparsed.
    const admitted = admitFrame(message);
    if (!this.rateLimits.take(identity.participantId, admitted.bucket, now)) {
      return this.refuseFlood(ws, identity, admitted.bucket, peekFrameId(message, admitted.tooLarge), now);
    }
    const parsed = parseClientFrame(message, admitted.tooLarge);
    let acked = false;
    const sendAck = () => {
      if (parsed.id !== undefined) sendQuietly(ws, encodeAck(parsed.id));
    };
    const ack: FrameAck = {
      now: () => {
        if (!acked) sendAck();
        acked = true;
      },
      later: () => {
        acked = true;
        return sendAck;
      },
    };
    try {
      if (!parsed.ok) throw parsed.error;
      const bucket = bucketOf(parsed.frame.type);
      // A chat frame that hid its type from the unparsed look pays its chat token too.
      if (bucket !== admitted.bucket && !this.rateLimits.take(identity.participantId, bucket, now)) {
        return this.refuseFlood(ws, identity, bucket, parsed.id, now);
      }
      await this.handleFrame(identity, parsed.frame, ack, ws);
      ack.now();
    } catch (error) {
      const appError = error instanceof AppError ? error : this.internalError("message", error);
      sendQuietly(ws, encodeError(appError.toBody(), parsed.id));
    }
  }

  /** A frame over its sender's bucket: refused, and counted towards closing a flooding connection. */
  private refuseFlood(
    ws: WebSocket,
    identity: SocketIdentity,
    bucket: FrameBucket,
    id: string | number | undefined,
    now: number,
  ): void {
    const refusal = new AppError("RATE_LIMITED", `too many ${bucket} frames; slow down`);
    sendQuietly(ws, encodeError(refusal.toBody(), id));
    this.rateLimited(ws, identity, now);
  }

  /** Reports a connection's first refused frame, and closes a connection that keeps flooding. */
  private rateLimited(ws: WebSocket, identity: SocketIdentity, now: number): void {
    const meetingId = this.objectId;
    if (!this.reportedRateLimited.has(ws)) {
      this.reportedRateLimited.add(ws);
      log("info", "meeting.rate_limited", { meetingId, participantId: identity.participantId });
      this.metrics.count("rate_limited", { meetingId, detail: "socket" });
    }
    if (this.rateLimits.refuse(ws, now)) {
      log("warn", "meeting.flooding_closed", { meetingId, participantId: identity.participantId });
      this.disconnect(ws, CLOSE.FLOODING, "too many refused frames");
    }
  }

  private async handleFrame(
    sender: SocketIdentity,
    frame: ClientFrameData,
    ack: FrameAck,
    ws: WebSocket,
  ): Promise<void> {
    switch (frame.type) {
      case "chat:message":
        return this.relayChat(sender, frame.data.text);
      case "webrtc:offer":
      case "webrtc:answer":
        return this.relaySignal(
          frame.data.to,
          encodeEvent({ type: frame.type, data: { from: sender.participantId, sdp: frame.data.sdp } }),
        );
      case "webrtc:ice-candidate":
        return this.relaySignal(
          frame.data.to,
          encodeEvent({ type: frame.type, data: { from: sender.participantId, candidate: frame.data.candidate } }),
        );
      case "participant:update":
        return this.updateState(ws, sender.participantId, frame.data, ack);
      case "meeting:datetime:update": {
        const { meeting } = this.activeMeetingFor(sender, "host");
        await this.reschedule(meeting, sender.participantId, frame.data);
        return;
      }
      case "host:kick-participant":
        this.activeMeetingFor(sender, "host");
        this.kickParticipant(sender.participantId, frame.data);
        return;
      case "meeting:leave": {
        const { participant } = this.activeMeetingFor(sender, "participant");
        ack.now(); // Before the socket closes under it.
        this.leaveMeeting(participant);
        return;
      }
      default:
        return assertNever(frame);
    }
  }

  /** The live meeting and the sender's row, checking the sender's role for host events. */
  private activeMeetingFor(
    sender: SocketIdentity,
    needs: "host" | "participant",
  ): { meeting: MeetingRow; participant: ParticipantRow } {
    if (needs === "host" && sender.role !== "host") throw new AppError("FORBIDDEN", "only the host may do this");
    const meeting = this.requireMeeting();
    if (meeting.status === "ended") throw new AppError("MEETING_ENDED", "the meeting has ended");
    const participant = this.store.participant(sender.participantId);
    if (!participant || participant.removedAt !== null) throw new AppError("FORBIDDEN", "this session was revoked");
    return { meeting, participant };
  }

  private relayChat(sender: SocketIdentity, text: string): void {
    if (this.lastSeq === undefined) this.lastSeq = this.store.lastChatSeq();
    const row: ChatRow = {
      seq: this.lastSeq + 1,
      id: crypto.randomUUID(),
      participantId: sender.participantId,
      name: sender.name,
      text,
      ts: Date.now(),
    };
    this.store.appendChat(row);
    this.lastSeq = row.seq;
    this.sockets.broadcast(encodeEvent({ type: "chat:new-message", data: chatView(row) }));
    this.messagesRelayed++;
    this.metrics.count("chat_message", { meetingId: this.objectId });
  }

  private relaySignal(to: string, frame: string): void {
    const target = this.sockets.socketOf(to);
    if (!target) throw new AppError("NOT_FOUND", "no connected participant with that id");
    // Bounded into one participant whatever the number of senders; not counted as the sender flooding.
    if (!this.rateLimits.allowSignalingInto(to, Date.now())) {
      throw new AppError("RATE_LIMITED", "that participant receives too much signaling right now; retry shortly");
    }
    sendQuietly(target, frame);
    this.messagesRelayed++;
  }

  /**
   * A live socket proves its participant is listed (kick and leave retire it
   * first), so no storage is read here: the state lives in the socket's
   * attachment, is broadcast at once, and reaches storage in a write shared
   * by every change of the next PRESENCE_FLUSH_MS (presence.ts); the ack
   * waits for that write, so an acknowledged state survives a crash. An
   * update that changes nothing is acknowledged at once (contract 1.1).
   */
  private updateState(
    ws: WebSocket,
    participantId: string,
    update: Partial<ParticipantRow["state"]>,
    ack: FrameAck,
  ): void {
    // Sockets accepted before the state rode in attachments read it from storage once.
    const current = this.sockets.identity(ws)?.state ?? this.store.participant(participantId)?.state ?? DEFAULT_STATE;
    const state = applyStateUpdate(current, update);
    if (!state) return;
    this.sockets.setState(ws, state);
    this.presence.changed(ack.later());
    this.sockets.broadcast(encodeEvent({ type: "participant:updated", data: { participantId, state } }));
    this.messagesRelayed++;
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      this.dropped(ws);
    } catch (error) {
      this.internalError("close", error);
    } finally {
      // Echo the close so the client sees a clean close, not 1006; codes that may not be sent become 1000.
      echoClose(ws, code, reason);
    }
  }

  async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    log("debug", "meeting.socket_error", { meetingId: this.objectId, error: String(error) });
    try {
      this.dropped(ws);
    } catch (failure) {
      this.internalError("socket error", failure);
    }
  }

  /** A socket went away by itself: its participant stays listed, now disconnected. */
  private dropped(ws: WebSocket): void {
    const identity = this.sockets.forget(ws);
    if (!identity) return;
    this.announceLeft(identity.participantId, "disconnected");
    // Storage becomes the only home of its state once the socket is gone.
    if (identity.state) this.presence.flushQuietly([identity.participantId, identity.state]);
  }
}

/** How a frame is acknowledged: now (the default, after its handler), or later by whoever takes it. */
interface FrameAck {
  now(): void;
  /** Takes the ack out of this event; returns the function that sends it. */
  later(): () => void;
}

function assertNever(value: never): never {
  throw new Error(`unhandled frame ${JSON.stringify(value)}`);
}
