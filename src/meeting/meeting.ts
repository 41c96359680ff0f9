/**
 * One meeting, one Durable Object. It owns every meeting rule: who may do
 * what, single-use join tokens, versions, presence, chat and expiry. The
 * worker reaches it through typed RPC for REST and through `fetch` for the
 * WebSocket upgrade; sockets are hibernatable, so a quiet meeting costs
 * nothing and a woken one rebuilds its state from storage and attachments.
 */
import { signToken, type TokenClaims } from "../auth/tokens";
import { requireJwtSecret } from "../config";
import { AppError, type Outcome } from "../errors";
import { log } from "../log";
import { CLOSE } from "../protocol/close-codes";
import type {
  CalendarTokenData,
  CreateMeetingInput,
  DatetimeUpdateInput,
  KickInput,
  MeetingData,
  MeetingStatsData,
  MintTokensInput,
  ParticipantData,
  SessionTokenData,
} from "../protocol/schemas";
import { ANY_TOKEN, CALENDAR_READERS, HOST_ONLY, MEMBERS, SESSION_ONLY } from "./access";
import { signCalendarToken, signSessionToken } from "./credentials";
import { checkInviteLimit, collectSpentRows } from "./housekeeping";
import { MeetingSockets } from "./room-sockets";
import { encodeEvent } from "./sockets";
import { DEFAULT_STATE, type MeetingRow, type ParticipantRow } from "./store";
import { iso, wholeSeconds } from "./views";

export { CLAIMS_HEADER, SINCE_HEADER, SUBPROTOCOL_HEADER } from "./room-sockets";
export { SILENCE_LIMIT_MS, SWEEP_INTERVAL_MS } from "./room-state";

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

/**
 * The Durable Object class bound as MEETINGS: the RPC the worker calls for
 * REST. Sockets (room-sockets.ts), rules and the alarm (room-rules.ts) and
 * shared state (room-state.ts) are its parent classes, one concern each.
 */
export class MeetingRoom extends MeetingSockets {
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
      this.store.transaction(() => {
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
      this.store.transaction(() => {
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
  async renewSession(claims: TokenClaims): Promise<Outcome<SessionTokenData>> {
    return this.outcome("renewSession", () => {
      const secret = requireJwtSecret(this.config);
      const { meeting, participant } = this.authorizeActive(claims, SESSION_ONLY);
      return signSessionToken(secret, meeting, participant.id, this.config.tokenExpiryMs, Date.now());
    });
  }

  /** A read-only calendar token, revoked with the participant who mints it. */
  async mintCalendarToken(claims: TokenClaims): Promise<Outcome<CalendarTokenData>> {
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
          ...this.store.rowCounts(Date.now()),
          storageBytes: this.ctx.storage.sql.databaseSize,
        },
      };
    });
  }
}
