/**
 * One meeting, one Durable Object. It owns every meeting rule: who may do
 * what, single-use join tokens, versions, presence, chat and expiry. The
 * worker reaches it through typed RPC for REST and through `fetch` for the
 * WebSocket upgrade; sockets are hibernatable, so a quiet meeting costs
 * nothing and a woken one rebuilds its state from storage and attachments.
 */
import { DurableObject } from "cloudflare:workers";
import { signToken, type TokenClaims, type TokenKind } from "../auth/tokens";
import { loadConfig, requireJwtSecret } from "../config";
import type { Env } from "../env";
import { AppError, errorResponse, type Outcome } from "../errors";
import { log, setLogLevel } from "../log";
import { ServiceMetrics } from "../metrics";
import type {
  ClientFrameData,
  CreateMeetingInput,
  DatetimeUpdateInput,
  KickInput,
  MeetingData,
  MeetingStatsData,
  MintTokensInput,
  ParticipantData,
} from "../protocol/schemas";
import { isTransientRuntimeError, unavailable } from "../runtime-errors";
import { ANY_TOKEN, CALENDAR_READERS, HOST_ONLY, MEMBERS, SESSION_ONLY, tokenHolder } from "./access";
import { type SignedCalendarToken, type SignedSession, signCalendarToken, signSessionToken } from "./credentials";
import { admitFrame, bucketOf, type FrameBucket, parseClientFrame, peekFrameId } from "./frames";
import { checkInviteLimit, collectSpentRows } from "./housekeeping";
import { buildJoinedFrame } from "./joined-frame";
import { applyStateUpdate, PresenceWriter } from "./presence";
import { FrameRateLimits } from "./rate-limits";
import {
  CLOSE,
  closeQuietly,
  echoClose,
  encodeAck,
  encodeError,
  encodeEvent,
  type SocketIdentity,
  SocketRegistry,
  sendQuietly,
} from "./sockets";
import { type ChatRow, DEFAULT_STATE, type MeetingRow, MeetingStore, type ParticipantRow } from "./store";
import { chatView, iso, meetingView, participantView, wholeSeconds } from "./views";

/** Internal header by which the worker hands verified token claims to the object. */
export const CLAIMS_HEADER = "x-meettime-claims";
export const SINCE_HEADER = "x-meettime-since";
export const SUBPROTOCOL_HEADER = "x-meettime-subprotocol";

const CHAT_ON_JOIN = 50;
/** A socket silent (no ping, no frame) this long is dropped by the next sweep. */
export const SILENCE_LIMIT_MS = 60_000;
export const SWEEP_INTERVAL_MS = 30_000;

export interface CreateResult {
  meeting: MeetingData;
  hostToken: string;
  participant: ParticipantData;
}
export interface JoinResult {
  meeting: MeetingData;
  participant: ParticipantData;
  sessionToken: string;
  wsUrl: string;
}

export class MeetingRoom extends DurableObject<Env> {
  private readonly store: MeetingStore;
  private readonly sockets: SocketRegistry;
  private readonly rateLimits = new FrameRateLimits();
  /** undefined: not read yet since this instance started; null: no meeting here. */
  private cachedMeeting: MeetingRow | null | undefined;
  private lastSeq: number | undefined;
  private alarmAt: number | null | undefined;
  private readonly metrics: ServiceMetrics;
  /** The meeting id is the object's id; known without reading storage. */
  private readonly objectId: string;
  /**
   * Frames relayed (chat, signaling, state updates) since this instance
   * started: counted in memory only, so the hot path never writes for it.
   */
  private messagesRelayed = 0;
  private readonly awakeSince = Date.now();
  /** Sockets already reported as rate limited: one log line per connection, not per frame. */
  private readonly reportedRateLimited = new WeakSet<WebSocket>();
  private presenceWriter: PresenceWriter | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new MeetingStore(ctx.storage);
    this.sockets = new SocketRegistry(ctx.getWebSockets());
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

  private get config() {
    return loadConfig(this.env);
  }

  /** Lazy persistence of participant state (presence.ts); made on first use. */
  private get presence(): PresenceWriter {
    this.presenceWriter ??= new PresenceWriter(this.ctx.storage, this.store, () => this.sockets.liveStates());
    return this.presenceWriter;
  }

  // ------------------------------------------------------------------ RPC for REST

  async create(meetingId: string, input: CreateMeetingInput): Promise<Outcome<CreateResult>> {
    return this.outcome("create", async () => {
      const config = this.config;
      const secret = requireJwtSecret(config);
      if (this.meeting()) throw new AppError("INTERNAL", "meeting id already in use");
      // The worker resolved and bounded it against the deployment's MAX_PARTICIPANTS_PER_MEETING.
      const maxParticipants = input.maxParticipants ?? config.maxParticipantsPerMeeting;
      const now = Date.now();
      const host: ParticipantRow = {
        id: crypto.randomUUID(),
        name: input.hostName,
        role: "host",
        joinedAt: now,
        state: DEFAULT_STATE,
        removedAt: null,
        removedReason: null,
      };
      const meeting: MeetingRow = {
        id: meetingId,
        title: input.title,
        status: "active",
        scheduledAt: input.scheduledAt,
        durationMinutes: input.durationMinutes,
        timezone: input.timezone,
        version: 1,
        maxParticipants,
        hostId: host.id,
        createdAt: now,
        updatedAt: now,
        endedAt: null,
        expiresAt: input.scheduledAt + input.durationMinutes * 60_000 + config.meetingExpiryMs,
      };
      const hostToken = await this.createStored(meeting, host, () => this.signHostToken(secret, meeting));
      log("info", "meeting.created", { meetingId });
      this.metrics.count("meeting_created", { meetingId });
      return { meeting: this.meetingView(meeting), hostToken, participant: this.participantView(host) };
    });
  }

  /**
   * Writes the new meeting and its expiry alarm as one atomic write (no await
   * between them), then signs the host token. If anything fails after the
   * write, the object is emptied again: a create either answers 201 or leaves
   * nothing behind, so the worker may retry it on a fresh id.
   */
  private async createStored<T>(meeting: MeetingRow, host: ParticipantRow, finish: () => Promise<T>): Promise<T> {
    this.store.create(meeting, host);
    // A fresh object has no alarm: arm it without asking storage first.
    const armed = this.ctx.storage.setAlarm(meeting.expiresAt);
    this.cachedMeeting = meeting;
    this.lastSeq = 0;
    this.alarmAt = meeting.expiresAt;
    try {
      await armed;
      return await finish();
    } catch (error) {
      this.cachedMeeting = null;
      this.lastSeq = undefined;
      this.alarmAt = undefined;
      await this.ctx.storage.deleteAll().catch(() => {});
      throw error;
    }
  }

  async join(claims: TokenClaims, displayName: string): Promise<Outcome<JoinResult>> {
    return this.outcome("join", async () => {
      const secret = requireJwtSecret(this.config);
      this.requireOwnToken(claims);
      const meeting = this.requireMeeting();
      if (claims.kind !== "join") throw new AppError("FORBIDDEN", "joining takes a join token");
      const token = this.store.joinToken(claims.tokenId);
      if (!token) throw new AppError("UNAUTHORIZED", "invalid token");
      if (meeting.status === "ended") throw new AppError("MEETING_ENDED", "the meeting has ended");
      if (token.redeemedAt !== null) throw new AppError("TOKEN_ALREADY_USED", "this join token was already used");
      if (this.store.listedCount() >= meeting.maxParticipants) {
        throw new AppError("MEETING_FULL", `the meeting is full (${meeting.maxParticipants} participants)`);
      }
      const now = Date.now();
      const participant: ParticipantRow = {
        id: crypto.randomUUID(),
        name: displayName,
        role: "participant",
        joinedAt: now,
        state: DEFAULT_STATE,
        removedAt: null,
        removedReason: null,
      };
      // Check and redemption run without an await in between: the object's
      // single thread makes concurrent redemptions of one token exactly-once.
      this.ctx.storage.transactionSync(() => {
        this.store.insertParticipant(participant);
        this.store.redeemJoinToken(token.id, participant.id, now);
      });
      const { sessionToken } = await signSessionToken(secret, meeting, participant.id, this.config.tokenExpiryMs, now);
      log("info", "meeting.joined", { meetingId: meeting.id, participantId: participant.id });
      this.metrics.count("participant_joined", { meetingId: meeting.id });
      return {
        meeting: this.meetingView(meeting),
        participant: this.participantView(participant),
        sessionToken,
        wsUrl: `/api/meetings/${meeting.id}/ws`,
      };
    });
  }

  async read(claims: TokenClaims): Promise<Outcome<{ meeting: MeetingData }>> {
    return this.outcome("read", () => {
      const { meeting } = this.authorize(claims, ANY_TOKEN);
      return { meeting: this.meetingView(meeting) };
    });
  }

  async terminate(claims: TokenClaims): Promise<Outcome<{ meeting: MeetingData }>> {
    return this.outcome("terminate", async () => {
      const { meeting } = this.authorizeActive(claims, HOST_ONLY);
      const now = Date.now();
      const ended: MeetingRow = {
        ...meeting,
        status: "ended",
        endedAt: now,
        updatedAt: now,
        expiresAt: now + this.config.meetingExpiryMs,
      };
      this.store.markEnded(ended);
      this.cachedMeeting = ended;
      this.sockets.broadcast(encodeEvent({ type: "meeting:terminated", data: {} }));
      this.presence.flushQuietly();
      this.closeAll(CLOSE.TERMINATED, "meeting terminated");
      await this.scheduleAlarm();
      log("info", "meeting.terminated", { meetingId: meeting.id });
      this.metrics.count("meeting_ended", { meetingId: meeting.id });
      return { meeting: this.meetingView(ended) };
    });
  }

  async mintJoinTokens(
    claims: TokenClaims,
    input: MintTokensInput,
  ): Promise<Outcome<{ tokens: { token: string; expiresAt: string }[] }>> {
    return this.outcome("mintJoinTokens", async () => {
      const secret = requireJwtSecret(this.config);
      const { meeting } = this.authorizeActive(claims, HOST_ONLY);
      const now = Date.now();
      let expiresAt = now + this.config.tokenExpiryMs;
      if (input.expiresInHours !== undefined) {
        expiresAt = now + input.expiresInHours * 3_600_000;
        if (expiresAt > meeting.expiresAt) {
          throw new AppError("VALIDATION_FAILED", "expiresInHours reaches beyond the meeting's expiry", {
            fields: { expiresInHours: [`must end by ${iso(meeting.expiresAt)}`] },
          });
        }
      }
      expiresAt = wholeSeconds(Math.min(expiresAt, meeting.expiresAt));
      const tokens = Array.from({ length: input.count }, () => ({
        id: crypto.randomUUID(),
        name: input.name ?? null,
        expiresAt,
      }));
      checkInviteLimit(this.store, tokens.length, now);
      // Minting is how a meeting's rows grow, so it also clears spent ones (housekeeping.ts).
      this.ctx.storage.transactionSync(() => {
        this.store.insertJoinTokens(tokens);
        collectSpentRows(this.store, now, this.config.tokenExpiryMs);
      });
      const signed = await Promise.all(
        tokens.map((token) =>
          signToken(secret, { meetingId: meeting.id, kind: "join", tokenId: token.id, expiresAt: token.expiresAt }),
        ),
      );
      return { tokens: signed.map((token) => ({ token, expiresAt: iso(expiresAt) })) };
    });
  }

  async mintHostToken(claims: TokenClaims): Promise<Outcome<{ hostToken: string; expiresAt: string }>> {
    return this.outcome("mintHostToken", async () => {
      const secret = requireJwtSecret(this.config);
      const { meeting } = this.authorizeActive(claims, HOST_ONLY);
      const hostToken = await this.signHostToken(secret, meeting);
      return { hostToken, expiresAt: iso(wholeSeconds(meeting.expiresAt)) };
    });
  }

  async updateDatetime(
    claims: TokenClaims,
    update: DatetimeUpdateInput,
    ifMatchVersion?: number,
  ): Promise<Outcome<{ meeting: MeetingData }>> {
    return this.outcome("updateDatetime", async () => {
      const { meeting, participant } = this.authorizeActive(claims, HOST_ONLY);
      return { meeting: await this.reschedule(meeting, participant.id, update, ifMatchVersion) };
    });
  }

  async kick(claims: TokenClaims, input: KickInput): Promise<Outcome<{ participantId: string }>> {
    return this.outcome("kick", () => {
      const { participant } = this.authorizeActive(claims, HOST_ONLY);
      return { participantId: this.kickParticipant(participant.id, input) };
    });
  }

  async leave(claims: TokenClaims): Promise<Outcome<{ participantId: string }>> {
    return this.outcome("leave", () => {
      const { participant } = this.authorizeActive(claims, MEMBERS);
      return { participantId: this.leaveMeeting(participant) };
    });
  }

  /** The calendar feed's read: like `read`, and the one place a calendar token is accepted. */
  async readCalendar(claims: TokenClaims): Promise<Outcome<{ meeting: MeetingData }>> {
    return this.outcome("readCalendar", () => {
      const { meeting } = this.authorize(claims, CALENDAR_READERS);
      return { meeting: this.meetingView(meeting) };
    });
  }

  /** A fresh session token for the holder of a valid one; the old one stays valid until its own expiry. */
  async renewSession(claims: TokenClaims): Promise<Outcome<SignedSession>> {
    return this.outcome("renewSession", () => {
      const secret = requireJwtSecret(this.config);
      const { meeting, participant } = this.authorizeActive(claims, SESSION_ONLY);
      return signSessionToken(secret, meeting, participant.id, this.config.tokenExpiryMs, Date.now());
    });
  }

  /** A read-only calendar token, revoked with the participant who mints it. */
  async mintCalendarToken(claims: TokenClaims): Promise<Outcome<SignedCalendarToken>> {
    return this.outcome("mintCalendarToken", () => {
      const secret = requireJwtSecret(this.config);
      const { meeting, participant } = this.authorizeActive(claims, MEMBERS);
      return signCalendarToken(secret, meeting, participant.id, this.config.meetingExpiryMs, Date.now());
    });
  }

  /**
   * Whom ICE credentials are for: a listed member of an active meeting.
   * The worker computes the credentials (TURN may take a network call, which
   * must not hold the meeting's object); they end with the presented token,
   * and never after the meeting.
   */
  async iceGrant(claims: TokenClaims): Promise<Outcome<{ participantId: string; notAfter: number }>> {
    return this.outcome("iceGrant", () => {
      const { meeting, participant } = this.authorizeActive(claims, MEMBERS);
      return { participantId: participant.id, notAfter: Math.min(claims.expiresAt, meeting.expiresAt) };
    });
  }

  /** Live numbers for the host; readable until the meeting expires, ended or not. */
  async stats(claims: TokenClaims): Promise<Outcome<{ stats: MeetingStatsData }>> {
    return this.outcome("stats", () => {
      const { meeting } = this.authorize(claims, HOST_ONLY);
      if (this.lastSeq === undefined) this.lastSeq = this.store.lastChatSeq();
      return {
        stats: {
          meetingId: meeting.id,
          status: meeting.status,
          version: meeting.version,
          participantCount: this.meetingView(meeting).participantCount,
          connectedSockets: this.sockets.size,
          messagesRelayed: this.messagesRelayed,
          messagesRelayedSince: iso(this.awakeSince),
          chatMessagesSent: this.lastSeq,
          chatMessagesStored: this.store.chatCount(),
          ...this.storedRows(),
          storageBytes: this.ctx.storage.sql.databaseSize,
        },
      };
    });
  }

  private storedRows() {
    const rows = this.store.rowCounts(Date.now());
    return {
      participantsStored: rows.participants,
      joinTokensStored: rows.joinTokens,
      outstandingInvites: rows.outstandingInvites,
    };
  }

  // ------------------------------------------------------------------ meeting rules

  private async reschedule(
    meeting: MeetingRow,
    updatedBy: string,
    update: DatetimeUpdateInput,
    ifMatchVersion?: number,
  ): Promise<MeetingData> {
    // expectedVersion and If-Match are both preconditions: either one being stale refuses the change.
    const stale = [update.expectedVersion, ifMatchVersion].find((v) => v !== undefined && v !== meeting.version);
    if (stale !== undefined) {
      throw new AppError("VERSION_CONFLICT", `the meeting is at version ${meeting.version}, not ${stale}`, {
        meeting: this.meetingView(meeting),
      });
    }
    const scheduledAt = update.scheduledAt ?? meeting.scheduledAt;
    const durationMinutes = update.durationMinutes ?? meeting.durationMinutes;
    const now = Date.now();
    const next: MeetingRow = {
      ...meeting,
      scheduledAt,
      durationMinutes,
      timezone: update.timezone ?? meeting.timezone,
      version: meeting.version + 1,
      updatedAt: now,
      expiresAt: scheduledAt + durationMinutes * 60_000 + this.config.meetingExpiryMs,
    };
    this.store.updateSchedule(next);
    this.cachedMeeting = next;
    const view = this.meetingView(next);
    this.sockets.broadcast(encodeEvent({ type: "meeting:datetime:changed", data: { meeting: view, updatedBy } }));
    await this.scheduleAlarm();
    log("info", "meeting.rescheduled", { meetingId: meeting.id, version: next.version });
    return view;
  }

  private kickParticipant(hostId: string, { participantId, reason }: KickInput): string {
    if (participantId === hostId) throw new AppError("VALIDATION_FAILED", "the host cannot kick itself");
    const target = this.store.participant(participantId);
    if (!target || target.removedAt !== null) throw new AppError("NOT_FOUND", "no such participant in this meeting");
    this.store.removeParticipant(target.id, "kicked", Date.now());
    this.rateLimits.forget(target.id);
    const ws = this.sockets.retire(target.id);
    if (ws) {
      sendQuietly(ws, encodeEvent({ type: "meeting:kicked", data: { reason: reason || "removed by the host" } }));
      closeQuietly(ws, CLOSE.KICKED, "kicked");
    }
    this.announceLeft(participantId, "kicked");
    log("info", "meeting.kicked", { meetingId: this.meeting()?.id, participantId });
    return participantId;
  }

  /** The host stays listed and may come back; anyone else is removed and their session revoked. */
  private leaveMeeting(participant: ParticipantRow): string {
    const isHost = participant.role === "host";
    if (!isHost) {
      this.store.removeParticipant(participant.id, "left", Date.now());
      this.rateLimits.forget(participant.id);
    }
    const ws = this.retireKeepingState(participant.id);
    if (ws) closeQuietly(ws, CLOSE.NORMAL, "left");
    if (ws || !isHost) {
      this.announceLeft(participant.id, "left");
    }
    log("info", "meeting.left", { meetingId: this.meeting()?.id, participantId: participant.id });
    return participant.id;
  }

  // ------------------------------------------------------------------ access

  private meeting(): MeetingRow | null {
    if (this.cachedMeeting === undefined) this.cachedMeeting = this.store.load();
    return this.cachedMeeting;
  }

  /** The meeting, or 404. A meeting past its expiry is gone even if its alarm has not run yet. */
  private requireMeeting(): MeetingRow {
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
  private authorize(
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
  private requireOwnToken(claims: TokenClaims): void {
    if (claims.meetingId !== this.objectId) throw new AppError("UNAUTHORIZED", "this token is for another meeting");
  }

  /** `authorize` for actions that need a participant and an active meeting (410 once ended). */
  private authorizeActive(
    claims: TokenClaims,
    allowed: readonly TokenKind[],
  ): { meeting: MeetingRow; participant: ParticipantRow } {
    const { meeting, participant } = this.authorize(claims, allowed);
    if (meeting.status === "ended") throw new AppError("MEETING_ENDED", "the meeting has ended");
    // Only host and session tokens are ever allowed here, and both resolve to a participant.
    return { meeting, participant: participant as ParticipantRow };
  }

  private signHostToken(secret: string, meeting: MeetingRow): Promise<string> {
    return signToken(secret, {
      meetingId: meeting.id,
      kind: "host",
      tokenId: crypto.randomUUID(),
      participantId: meeting.hostId,
      expiresAt: wholeSeconds(meeting.expiresAt),
    });
  }

  /** Runs an RPC action; expected failures travel back as data in the contract's shape. */
  private async outcome<T>(action: string, run: () => T | Promise<T>): Promise<Outcome<T>> {
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

  private participantView(p: ParticipantRow): ParticipantData {
    return participantView(this.withLiveState(p), this.sockets.isConnected(p.id));
  }

  /** `connecting`: a participant whose socket is about to be registered, shown as connected. */
  private meetingView(m: MeetingRow, connecting?: string): MeetingData {
    const listed = this.store.listedParticipants().map((p) => this.withLiveState(p));
    return meetingView(m, listed, (id) => id === connecting || this.sockets.isConnected(id));
  }

  /** A connected participant's state is its socket's (newer than storage until the next presence flush). */
  private withLiveState(p: ParticipantRow): ParticipantRow {
    const state = this.sockets.stateOf(p.id);
    return state ? { ...p, state } : p;
  }

  // ------------------------------------------------------------------ WebSockets

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
      return this.refuseFlood(ws, identity, admitted.bucket, peekFrameId(message), now);
    }
    const parsed = parseClientFrame(message);
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

  /** Closes a live socket on the server's initiative and reports it as disconnected. */
  private disconnect(ws: WebSocket, code: number, reason: string): void {
    const identity = this.sockets.identity(ws);
    if (!identity) return;
    this.retireKeepingState(identity.participantId);
    closeQuietly(ws, code, reason);
    this.announceLeft(identity.participantId, "disconnected");
  }

  /** Retires a participant's socket after writing its live state, which storage alone keeps from now on. */
  private retireKeepingState(participantId: string): WebSocket | undefined {
    const state = this.sockets.stateOf(participantId);
    if (state) this.presence.flushQuietly([participantId, state]);
    return this.sockets.retire(participantId);
  }

  /** Tells everyone still connected that a participant's socket is gone, and why. */
  private announceLeft(participantId: string, reason: "left" | "disconnected" | "kicked"): void {
    this.sockets.broadcast(encodeEvent({ type: "meeting:participant-left", data: { participantId, reason } }));
  }

  private closeAll(code: number, reason: string): void {
    for (const ws of [...this.sockets.sockets()]) {
      const identity = this.sockets.identity(ws);
      if (identity) this.sockets.retire(identity.participantId);
      closeQuietly(ws, code, reason);
    }
  }

  private internalError(action: string, error: unknown): AppError {
    log("error", "meeting.internal_error", { action, meetingId: this.cachedMeeting?.id, error: String(error) });
    // REST failures are counted by the worker as 5xx answers; socket failures only here.
    this.metrics.count("error", { meetingId: this.objectId, detail: `socket ${action}` });
    return new AppError("INTERNAL", "internal error");
  }

  // ------------------------------------------------------------------ alarm: expiry and liveness

  /**
   * One alarm serves two schedules: the meeting's expiry, and a liveness
   * sweep every SWEEP_INTERVAL_MS while sockets are connected. An alarm that
   * fires early is harmless: the handler re-reads state and re-arms. While
   * sockets are connected an earlier alarm is kept (a sweep due sooner is
   * not pushed back by every connect); without sockets the alarm is exactly
   * the expiry, so a reschedule or termination moves it either way.
   */
  private async scheduleAlarm(socketComing = false): Promise<void> {
    const meeting = this.meeting();
    if (!meeting) return;
    const sweeping = socketComing || this.sockets.size > 0;
    const target = sweeping ? Math.min(meeting.expiresAt, Date.now() + SWEEP_INTERVAL_MS) : meeting.expiresAt;
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && (this.alarmAt === target || (sweeping && this.alarmAt < target))) return;
    this.alarmAt = target;
    await this.ctx.storage.setAlarm(target);
  }

  async alarm(): Promise<void> {
    this.alarmAt = null; // This alarm is spent; whatever runs next re-arms it.
    const meeting = this.meeting();
    if (!meeting) return;
    const now = Date.now();
    if (now >= meeting.expiresAt) {
      await this.expire(meeting);
      return;
    }
    // States changed just before an eviction (whose pending flush died with it) are written here at the latest.
    this.presence.flushQuietly();
    this.sweepSilentSockets(now);
    this.ctx.storage.transactionSync(() => collectSpentRows(this.store, now, this.config.tokenExpiryMs));
    await this.scheduleAlarm();
  }

  private sweepSilentSockets(now: number): void {
    for (const ws of [...this.sockets.sockets()]) {
      const lastPing = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      const lastHeard = Math.max(lastPing, this.sockets.lastActivityAt(ws));
      if (now - lastHeard > SILENCE_LIMIT_MS) this.disconnect(ws, CLOSE.SILENT, "no heartbeat");
    }
  }

  /** Deletes the meeting: sockets closed, every row and the alarm gone. Safe to run twice. */
  private async expire(meeting: MeetingRow): Promise<void> {
    this.presence.discard();
    this.closeAll(CLOSE.TERMINATED, "meeting expired");
    await this.store.deleteEverything();
    this.cachedMeeting = null;
    this.lastSeq = undefined;
    this.alarmAt = null;
    log("info", "meeting.expired", { meetingId: meeting.id });
    this.metrics.count("meeting_expired", { meetingId: meeting.id });
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
