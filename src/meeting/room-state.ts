/**
 * The meeting object's shared state and the checks every entry point uses:
 * what it keeps in memory (rebuilt from storage and socket attachments after
 * a wake), access in the contract's order, views, closing sockets on the
 * server's initiative, and arming the one alarm. The classes in
 * room-rules.ts, room-sockets.ts and meeting.ts build on it, one concern each.
 */
import { DurableObject } from "cloudflare:workers";
import { signToken, type TokenClaims, type TokenKind } from "../auth/tokens";
import { loadConfig } from "../config";
import type { Env } from "../env";
import { AppError, type Outcome } from "../errors";
import { log, setLogLevel } from "../log";
import { ServiceMetrics } from "../metrics";
import type { MeetingData, ParticipantData } from "../protocol/schemas";
import { isTransientRuntimeError, unavailable } from "../runtime-errors";
import { tokenHolder } from "./access";
import { PresenceWriter } from "./presence";
import { FrameRateLimits } from "./rate-limits";
import { closeQuietly, encodeEvent, SocketRegistry } from "./sockets";
import { type MeetingRow, MeetingStore, type ParticipantRow } from "./store";
import { meetingView, participantView, wholeSeconds } from "./views";

/** A socket silent (no ping, no frame) this long is dropped by the next sweep. */
export const SILENCE_LIMIT_MS = 60_000;
export const SWEEP_INTERVAL_MS = 30_000;

export abstract class MeetingState extends DurableObject<Env> {
  protected readonly store: MeetingStore;
  protected readonly sockets: SocketRegistry;
  protected readonly rateLimits = new FrameRateLimits();
  /** undefined: not read yet since this instance started; null: no meeting here. */
  protected cachedMeeting: MeetingRow | null | undefined;
  protected lastSeq: number | undefined;
  protected alarmAt: number | null | undefined;
  protected readonly metrics: ServiceMetrics;
  /** The meeting id is the object's id; known without reading storage. */
  protected readonly objectId: string;
  /**
   * Frames relayed (chat, signaling, state updates) since this instance
   * started: counted in memory only, so the hot path never writes for it.
   */
  protected messagesRelayed = 0;
  protected readonly awakeSince = Date.now();
  /** Lazy persistence of participant state (presence.ts). */
  protected readonly presence: PresenceWriter;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new MeetingStore(ctx.storage);
    this.sockets = new SocketRegistry(ctx.getWebSockets());
    this.presence = new PresenceWriter(this.store, () => this.sockets.liveStates());
    this.metrics = new ServiceMetrics(env.METRICS);
    this.objectId = ctx.id.toString();
    try {
      setLogLevel(loadConfig(env).logLevel);
    } catch {
      // An invalid configuration is reported by the action that needs it.
    }
    // Answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  protected get config() {
    return loadConfig(this.env);
  }

  // ------------------------------------------------------------------ access

  protected meeting(): MeetingRow | null {
    if (this.cachedMeeting === undefined) this.cachedMeeting = this.store.load();
    return this.cachedMeeting;
  }

  /** The meeting, or 404. A meeting past its expiry is gone even if its alarm has not run yet. */
  protected requireMeeting(): MeetingRow {
    const meeting = this.meeting();
    if (!meeting) throw new AppError("NOT_FOUND", "meeting not found");
    if (Date.now() >= meeting.expiresAt) {
      void this.ctx.storage.setAlarm(Date.now());
      this.alarmAt = undefined;
      throw new AppError("NOT_FOUND", "meeting not found");
    }
    return meeting;
  }

  /** The meeting (404 when gone) and the token's holder, checked in the contract's order. */
  protected authorize(
    claims: TokenClaims,
    allowed: readonly TokenKind[],
  ): { meeting: MeetingRow; participant: ParticipantRow | null } {
    this.requireOwnToken(claims);
    const meeting = this.requireMeeting();
    return { meeting, participant: tokenHolder(this.store, claims, allowed) };
  }

  /**
   * Defence in depth: the worker already verified the token's audience, but
   * the object checks again that the token is bound to this meeting (its own
   * id), so a routing bug can never let one meeting's token act on another.
   * 401, as the contract answers a token of another meeting.
   */
  protected requireOwnToken(claims: TokenClaims): void {
    if (claims.meetingId !== this.objectId) throw new AppError("UNAUTHORIZED", "this token is for another meeting");
  }

  /** `authorize` for actions that need a participant and an active meeting (410 once ended). */
  protected authorizeActive(
    claims: TokenClaims,
    allowed: readonly TokenKind[],
  ): { meeting: MeetingRow; participant: ParticipantRow } {
    const { meeting, participant } = this.authorize(claims, allowed);
    if (meeting.status === "ended") throw new AppError("MEETING_ENDED", "the meeting has ended");
    // Only host and session tokens are ever allowed here, and both resolve to a participant.
    return { meeting, participant: participant as ParticipantRow };
  }

  protected signHostToken(secret: string, meeting: MeetingRow): Promise<string> {
    return signToken(secret, {
      meetingId: meeting.id,
      kind: "host",
      tokenId: crypto.randomUUID(),
      participantId: meeting.hostId,
      expiresAt: wholeSeconds(meeting.expiresAt),
    });
  }

  /** Runs an RPC action; expected failures travel back as data in the contract's shape. */
  protected async outcome<T>(action: string, run: () => T | Promise<T>): Promise<Outcome<T>> {
    try {
      return { ok: true, value: await run() };
    } catch (error) {
      if (error instanceof AppError) return { ok: false, error: error.toBody() };
      if (isTransientRuntimeError(error)) {
        // Load or memory pressure (e.g. SQLITE_NOMEM): the action's transaction did not commit.
        log("warn", "meeting.unavailable", { action, meetingId: this.cachedMeeting?.id, error: String(error) });
        return { ok: false, error: unavailable().toBody() };
      }
      log("error", "meeting.internal_error", { action, meetingId: this.cachedMeeting?.id, error: String(error) });
      return { ok: false, error: { code: "INTERNAL", message: "internal error" } };
    }
  }

  // ------------------------------------------------------------------ views

  protected participantView(p: ParticipantRow): ParticipantData {
    return participantView(this.withLiveState(p), this.sockets.isConnected(p.id));
  }

  /** `connecting`: a participant whose socket is about to be registered, shown as connected. */
  protected meetingView(m: MeetingRow, connecting?: string): MeetingData {
    const listed = this.store.listedParticipants().map((p) => this.withLiveState(p));
    return meetingView(m, listed, (id) => id === connecting || this.sockets.isConnected(id));
  }

  /** A connected participant's state is its socket's (newer than storage until the next presence flush). */
  protected withLiveState(p: ParticipantRow): ParticipantRow {
    const state = this.sockets.stateOf(p.id);
    return state ? { ...p, state } : p;
  }

  // ------------------------------------------------------------------ sockets closed by the server

  /** Closes a live socket on the server's initiative and reports it as disconnected. */
  protected disconnect(ws: WebSocket, code: number, reason: string): void {
    const identity = this.sockets.identity(ws);
    if (!identity) return;
    this.retireKeepingState(identity.participantId);
    closeQuietly(ws, code, reason);
    this.announceLeft(identity.participantId, "disconnected");
  }

  /** Retires a participant's socket after writing its live state, which storage alone keeps from now on. */
  protected retireKeepingState(participantId: string): WebSocket | undefined {
    const state = this.sockets.stateOf(participantId);
    if (state) this.presence.flushQuietly([participantId, state]);
    return this.sockets.retire(participantId);
  }

  /** Tells everyone still connected that a participant's socket is gone, and why. */
  protected announceLeft(participantId: string, reason: "left" | "disconnected" | "kicked"): void {
    this.sockets.broadcast(encodeEvent({ type: "meeting:participant-left", data: { participantId, reason } }));
  }

  protected closeAll(code: number, reason: string): void {
    for (const ws of [...this.sockets.sockets()]) {
      const identity = this.sockets.identity(ws);
      if (identity) this.sockets.retire(identity.participantId);
      closeQuietly(ws, code, reason);
    }
  }

  protected internalError(action: string, error: unknown): AppError {
    log("error", "meeting.internal_error", { action, meetingId: this.cachedMeeting?.id, error: String(error) });
    // REST failures are counted by the worker as 5xx answers; socket failures only here.
    this.metrics.count("error", { meetingId: this.objectId, detail: `socket ${action}` });
    return new AppError("INTERNAL", "internal error");
  }

  // ------------------------------------------------------------------ the alarm

  /**
   * One alarm serves two schedules: the meeting's expiry, and a liveness
   * sweep every SWEEP_INTERVAL_MS while sockets are connected. An alarm that
   * fires early is harmless: the handler re-reads state and re-arms. While
   * sockets are connected an earlier alarm is kept (a sweep due sooner is
   * not pushed back by every connect); without sockets the alarm is exactly
   * the expiry, so a reschedule or termination moves it either way.
   */
  protected async scheduleAlarm(socketComing = false): Promise<void> {
    const meeting = this.meeting();
    if (!meeting) return;
    const sweeping = socketComing || this.sockets.size > 0;
    const target = sweeping ? Math.min(meeting.expiresAt, Date.now() + SWEEP_INTERVAL_MS) : meeting.expiresAt;
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && (this.alarmAt === target || (sweeping && this.alarmAt < target))) return;
    this.alarmAt = target;
    await this.ctx.storage.setAlarm(target);
  }
}
