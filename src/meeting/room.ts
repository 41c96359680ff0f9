/**
 * One meeting, one Durable Object: `MeetingRoom`, bound as MEETINGS. This
 * file holds every door the runtime and the worker knock on: `fetch` (the
 * WebSocket upgrade), `webSocketMessage`, `webSocketClose`,
 * `webSocketError`, `alarm`, and the RPC methods behind REST. Each is a short
 * hand-off, wrapped the same way, to a rule module by topic (membership,
 * schedule, lifecycle, relay, invites, credentials, stats), which receives the
 * `RoomContext`: the collaborators that own the object's state. Sockets are
 * hibernatable, so a quiet meeting costs nothing and a woken one rebuilds
 * from storage and the sockets' attachments.
 */
import { DurableObject } from "cloudflare:workers";
import type { TokenClaims } from "../auth/tokens";
import { loadConfig } from "../config";
import type { Env } from "../env";
import { toAppError } from "../error-path";
import { errorResponse, type Outcome } from "../errors";
import { log, setLogLevel } from "../log";
import type {
  CalendarTokenData,
  ClientFrameData,
  CreateMeetingInput,
  DatetimeUpdateInput,
  KickInput,
  MediaModeData,
  MeetingData,
  MeetingStatsData,
  MintTokensInput,
  SessionTokenData,
} from "../protocol/schemas";
import { ANY_TOKEN, authorize, authorizeActive, authorizeSender, CALENDAR_READERS, HOST_ONLY, MEMBERS } from "./access";
import { connectSocket, socketGone } from "./connection";
import { RoomContext } from "./context";
import { iceGrant, mintCalendarToken, mintHostToken, renewSession } from "./credentials";
import { type FrameAck, socketError, takeFrame } from "./frame-intake";
import { mintJoinTokens } from "./invites";
import { alarmFired, type CreateResult, createMeeting, terminateMeeting } from "./lifecycle";
import { liveMeetingView } from "./live-views";
import {
  grantMedia,
  type MediaGrant,
  type MediaNeeds,
  mediaSessionOpened,
  mediaTracksAdded,
  mediaTracksClosed,
} from "./media";
import type { PublishedTrackRow, PulledTrackRow } from "./media-store";
import { type JoinResult, joinMeeting, kickParticipant, leaveMeeting } from "./membership";
import { relayChat, relaySignal, updateState } from "./relay";
import { reschedule } from "./schedule";
import { echoClose, encodeEvent, type SocketIdentity } from "./socket-registry";
import { meetingStats } from "./stats";

export class MeetingRoom extends DurableObject<Env> {
  private readonly room: RoomContext;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.room = new RoomContext(ctx, env);
    try {
      setLogLevel(loadConfig(env).logLevel);
    } catch {
      // An invalid configuration is reported by the action that needs it.
    }
    // Answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  // ------------------------------------------------------------------ the runtime's doors

  /** The WebSocket upgrade, forwarded by the worker after it verified the token. */
  async fetch(request: Request): Promise<Response> {
    try {
      return await connectSocket(this.room, request);
    } catch (error) {
      return errorResponse(toAppError(error, { action: "connect", meetingId: this.room.meetingId }));
    }
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await takeFrame(this.room, ws, message, (sender, frame, ack, socket) => this.onFrame(sender, frame, ack, socket));
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      socketGone(this.room, ws);
    } catch (error) {
      socketError(this.room, "close", error);
    } finally {
      // Echo the close so the client sees a clean close, not 1006; codes that may not be sent become 1000.
      echoClose(ws, code, reason);
    }
  }

  async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    log("debug", "meeting.socket_error", { meetingId: this.room.meetingId, error: String(error) });
    try {
      socketGone(this.room, ws);
    } catch (failure) {
      socketError(this.room, "socket error", failure);
    }
  }

  async alarm(): Promise<void> {
    await alarmFired(this.room);
  }

  /** Every client frame, routed to its rule; the frame was admitted, parsed and validated by `takeFrame`. */
  private async onFrame(sender: SocketIdentity, frame: ClientFrameData, ack: FrameAck, ws: WebSocket) {
    const room = this.room;
    switch (frame.type) {
      case "chat:message":
        return relayChat(room, sender, frame.data.text);
      case "webrtc:offer":
      case "webrtc:answer":
        return relaySignal(
          room,
          frame.data.to,
          encodeEvent({ type: frame.type, data: { from: sender.participantId, sdp: frame.data.sdp } }),
        );
      case "webrtc:ice-candidate":
        return relaySignal(
          room,
          frame.data.to,
          encodeEvent({ type: frame.type, data: { from: sender.participantId, candidate: frame.data.candidate } }),
        );
      case "participant:update":
        return updateState(room, ws, sender.participantId, frame.data, ack.later);
      case "meeting:datetime:update": {
        const { meeting } = authorizeSender(room, sender, "host");
        await reschedule(room, meeting, sender.participantId, frame.data);
        return;
      }
      case "host:kick-participant":
        authorizeSender(room, sender, "host");
        kickParticipant(room, sender.participantId, frame.data);
        return;
      case "meeting:leave": {
        const { participant } = authorizeSender(room, sender, "participant");
        ack.now(); // Before the socket closes under it.
        leaveMeeting(room, participant);
        return;
      }
      default:
        return assertNever(frame);
    }
  }

  // ------------------------------------------------------------------ RPC for REST

  create(meetingId: string, input: CreateMeetingInput, mediaMode?: MediaModeData): Promise<Outcome<CreateResult>> {
    return this.outcome("create", () => createMeeting(this.room, meetingId, input, mediaMode));
  }

  join(claims: TokenClaims, displayName: string): Promise<Outcome<JoinResult>> {
    return this.outcome("join", () => joinMeeting(this.room, claims, displayName));
  }

  read(claims: TokenClaims): Promise<Outcome<{ meeting: MeetingData }>> {
    return this.outcome("read", () => {
      const { meeting } = authorize(this.room, claims, ANY_TOKEN);
      return { meeting: liveMeetingView(this.room, meeting) };
    });
  }

  /** The calendar feed's read: like `read`, and the one place a calendar token is accepted. */
  readCalendar(claims: TokenClaims): Promise<Outcome<{ meeting: MeetingData }>> {
    return this.outcome("readCalendar", () => {
      const { meeting } = authorize(this.room, claims, CALENDAR_READERS);
      return { meeting: liveMeetingView(this.room, meeting) };
    });
  }

  terminate(claims: TokenClaims): Promise<Outcome<{ meeting: MeetingData }>> {
    return this.outcome("terminate", () => terminateMeeting(this.room, claims));
  }

  mintJoinTokens(
    claims: TokenClaims,
    input: MintTokensInput,
  ): Promise<Outcome<{ tokens: { token: string; expiresAt: string }[] }>> {
    return this.outcome("mintJoinTokens", () => mintJoinTokens(this.room, claims, input));
  }

  mintHostToken(claims: TokenClaims): Promise<Outcome<{ hostToken: string; expiresAt: string }>> {
    return this.outcome("mintHostToken", () => mintHostToken(this.room, claims));
  }

  updateDatetime(
    claims: TokenClaims,
    update: DatetimeUpdateInput,
    ifMatchVersion?: number,
  ): Promise<Outcome<{ meeting: MeetingData }>> {
    return this.outcome("updateDatetime", async () => {
      const { meeting, participant } = authorizeActive(this.room, claims, HOST_ONLY);
      return { meeting: await reschedule(this.room, meeting, participant.id, update, ifMatchVersion) };
    });
  }

  kick(claims: TokenClaims, input: KickInput): Promise<Outcome<{ participantId: string }>> {
    return this.outcome("kick", () => {
      const { participant } = authorizeActive(this.room, claims, HOST_ONLY);
      return { participantId: kickParticipant(this.room, participant.id, input) };
    });
  }

  leave(claims: TokenClaims): Promise<Outcome<{ participantId: string }>> {
    return this.outcome("leave", () => {
      const { participant } = authorizeActive(this.room, claims, MEMBERS);
      return { participantId: leaveMeeting(this.room, participant) };
    });
  }

  renewSession(claims: TokenClaims): Promise<Outcome<SessionTokenData>> {
    return this.outcome("renewSession", () => renewSession(this.room, claims));
  }

  mintCalendarToken(claims: TokenClaims): Promise<Outcome<CalendarTokenData>> {
    return this.outcome("mintCalendarToken", () => mintCalendarToken(this.room, claims));
  }

  iceGrant(claims: TokenClaims): Promise<Outcome<{ participantId: string; notAfter: number }>> {
    return this.outcome("iceGrant", () => iceGrant(this.room, claims));
  }

  stats(claims: TokenClaims): Promise<Outcome<{ stats: MeetingStatsData }>> {
    return this.outcome("stats", () => meetingStats(this.room, claims));
  }

  // Contract 1.2, media through an SFU: the worker calls the SFU between a grant and its report (media.ts).

  mediaGrant(claims: TokenClaims, needs: MediaNeeds): Promise<Outcome<MediaGrant>> {
    return this.outcome("mediaGrant", () => grantMedia(this.room, claims, needs));
  }

  mediaSessionOpened(claims: TokenClaims, sessionId: string): Promise<Outcome<void>> {
    return this.outcome("mediaSessionOpened", () => mediaSessionOpened(this.room, claims, sessionId));
  }

  mediaTracksAdded(
    claims: TokenClaims,
    sessionId: string,
    published: PublishedTrackRow[],
    pulled: PulledTrackRow[],
  ): Promise<Outcome<void>> {
    return this.outcome("mediaTracksAdded", () => mediaTracksAdded(this.room, claims, sessionId, published, pulled));
  }

  mediaTracksClosed(claims: TokenClaims, sessionId: string, mids: string[]): Promise<Outcome<void>> {
    return this.outcome("mediaTracksClosed", () => mediaTracksClosed(this.room, claims, sessionId, mids));
  }

  /** Runs an RPC action; failures travel back as data in the contract's shape (errors.ts decides which). */
  private async outcome<T>(action: string, run: () => T | Promise<T>): Promise<Outcome<T>> {
    try {
      return { ok: true, value: await run() };
    } catch (error) {
      return { ok: false, error: toAppError(error, { action, meetingId: this.room.meetingId }).toBody() };
    }
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled frame ${JSON.stringify(value)}`);
}
