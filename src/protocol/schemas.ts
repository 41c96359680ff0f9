/**
 * The one schema module: REST bodies, WebSocket frames and the objects of
 * API.md. Routes validate with these, the meeting object parses frames with
 * them, and the OpenAPI document is generated from them.
 */
import { z } from "zod";
import { remembered } from "../lib/remembered";

export const LIMITS = {
  TITLE_MAX: 200,
  NAME_MAX: 80,
  CHAT_TEXT_MAX: 2000,
  DURATION_MIN: 1,
  DURATION_MAX: 1440,
  DEFAULT_DURATION: 60,
  TOKENS_PER_REQUEST_MAX: 50,
  SCHEDULE_PAST_TOLERANCE_MS: 5 * 60_000,
  SCHEDULE_AHEAD_YEARS: 2,
  BODY_MAX_BYTES: 64 * 1024,
  FRAME_MAX_BYTES: 64 * 1024,
} as const;

/** Meeting ids are Durable Object ids: 64 lowercase hex characters. */
export const MEETING_ID_PATTERN = /^[0-9a-f]{64}$/;

// C0 and C1 control characters, DEL included.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
// In `u` mode a surrogate pair is one code point, so this matches only unpaired halves
// ("\ud800" is valid JSON but not Unicode: SQLite would store it as bytes that read back as U+FFFD).
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const WELL_FORMED = "must be well-formed Unicode (no unpaired surrogates)";
/**
 * Invisible characters that can make a name read as something else: bidi
 * embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), the
 * directional marks (U+200E, U+200F, U+061C: harmless in running text, but
 * in a one-line label they only serve to reorder what is around it; clients
 * isolate names with <bdi> instead), and zero-width characters (U+200B
 * space, U+2060 word joiner, U+FEFF, U+180E). Chat text may keep them: it is
 * free text where right-to-left writers use marks and embeddings, and a
 * client shows each message in its own isolated element.
 */
const INVISIBLE_IN_NAMES = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b\u2060\ufeff\u180e]/u;
/**
 * The zero-width joiners (ZWNJ U+200C, ZWJ U+200D) stay allowed where they
 * join something: between two letters or marks (Persian and Indic names
 * need ZWNJ) or within an emoji sequence (👩‍💻). Alone, at an edge, or next
 * to a space they only hide, and are refused.
 */
const STRAY_JOINER =
  /(?<![\p{L}\p{M}\p{Extended_Pictographic}\p{Emoji_Modifier}])[\u200c\u200d]|[\u200c\u200d](?![\p{L}\p{M}\p{Extended_Pictographic}])/u;
const VISIBLE = "must not contain invisible formatting characters (bidi controls, zero-width characters)";

const displayText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((text) => !CONTROL_CHARACTERS.test(text), "must not contain control characters")
    .refine((text) => !LONE_SURROGATE.test(text), WELL_FORMED)
    .refine((text) => !INVISIBLE_IN_NAMES.test(text) && !STRAY_JOINER.test(text), VISIBLE);

export const Title = displayText(LIMITS.TITLE_MAX);
export const DisplayName = displayText(LIMITS.NAME_MAX);

/** The longest zone name looked up; IANA's longest is 32 characters. */
const MAX_ZONE_NAME = 64;

/** The runtime's name for a zone, or undefined; remembered, as each lookup builds an `Intl.DateTimeFormat` (about 40 µs). */
const canonicalZone = remembered(1_000, (zone): string | undefined => {
  if (zone.length > MAX_ZONE_NAME || /^[+-]/.test(zone)) return undefined;
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
    return /^[+-]/.test(resolved) ? undefined : resolved;
  } catch {
    return undefined; // Unknown to the runtime's zone database.
  }
});

/**
 * A valid IANA zone name. Only its letter case is normalised ("europe/berlin"
 * → "Europe/Berlin"): the runtime resolves some current names to older
 * aliases ("Asia/Kolkata" → "Asia/Calcutta"), and a user gets back the name
 * they chose. UTC offsets ("+01:00") are not zone names, though Intl takes them.
 */
export const TimeZone = z.string().transform((zone, ctx) => {
  const resolved = canonicalZone(zone);
  if (resolved === undefined) {
    ctx.addIssue({ code: "custom", message: "must be a valid IANA time zone" });
    return z.NEVER;
  }
  return resolved.toLowerCase() === zone.toLowerCase() ? resolved : zone;
});

function latestSchedulableTime(now: number): number {
  const limit = new Date(now);
  limit.setUTCFullYear(limit.getUTCFullYear() + LIMITS.SCHEDULE_AHEAD_YEARS);
  return limit.getTime();
}

/** ISO-8601 with `Z` or a numeric offset, at most 5 minutes past and 2 years ahead; parsed to epoch ms. */
export const ScheduledAt = z.iso.datetime({ offset: true }).transform((text, ctx) => {
  const at = Date.parse(text);
  const now = Date.now();
  if (Number.isNaN(at)) {
    ctx.addIssue({ code: "custom", message: "must be a valid date and time" });
  } else if (at < now - LIMITS.SCHEDULE_PAST_TOLERANCE_MS) {
    ctx.addIssue({ code: "custom", message: "must not be more than 5 minutes in the past" });
  } else if (at > latestSchedulableTime(now)) {
    ctx.addIssue({ code: "custom", message: "must be at most 2 years ahead" });
  } else {
    return at;
  }
  return z.NEVER;
});

export const DurationMinutes = z.number().int().min(LIMITS.DURATION_MIN).max(LIMITS.DURATION_MAX);
export const ParticipantId = z.string().min(1).max(64);
export const KickReason = z.string().trim().max(200);

// ---------------------------------------------------------------- REST bodies

export const CreateMeetingBody = z.strictObject({
  title: Title,
  hostName: DisplayName,
  scheduledAt: ScheduledAt,
  durationMinutes: DurationMinutes.default(LIMITS.DEFAULT_DURATION),
  timezone: TimeZone.default("UTC"),
  maxParticipants: z.number().int().min(2).optional(),
});

export const JoinBody = z.strictObject({
  token: z.string().min(1).max(4096),
  displayName: DisplayName,
});

export const MintTokensBody = z.strictObject({
  name: DisplayName.optional(),
  count: z.number().int().min(1).max(LIMITS.TOKENS_PER_REQUEST_MAX).default(1),
  expiresInHours: z.number().positive().finite().optional(),
});

export const DatetimeUpdateBody = z
  .strictObject({
    scheduledAt: ScheduledAt.optional(),
    durationMinutes: DurationMinutes.optional(),
    timezone: TimeZone.optional(),
    expectedVersion: z.number().int().min(1).optional(),
  })
  .refine(
    (body) => body.scheduledAt !== undefined || body.durationMinutes !== undefined || body.timezone !== undefined,
    "give at least one of scheduledAt, durationMinutes, timezone",
  );

/**
 * The body of an action that takes none (leave, host-token, session-token,
 * calendar-token, DELETE): absent, or `{}`. A declared JSON body is still
 * parsed and validated (contract 1.1), so `{"x":1}` is refused, not ignored.
 */
export const EmptyBody = z.strictObject({});

export const KickBody = z.strictObject({
  participantId: ParticipantId,
  reason: KickReason.optional(),
});

/** `If-Match: "3"` (quotes and a weak `W/` tolerated), the header twin of `expectedVersion`. */
export const IfMatchHeader = z.object({
  "if-match": z
    .string()
    .regex(/^\s*(?:W\/)?"?\d{1,15}"?\s*$/, 'must be a quoted version number, like "3"')
    .transform((value) => Number(value.replace(/\D/g, "")))
    .optional(),
});

export const WebSocketQuery = z.object({
  // Contract 1.1: an empty `?token=` is no token (401 from authentication), not a validation error.
  token: z.string().max(4096).optional(),
  since: z
    .string()
    .regex(/^\d{1,15}$/, "must be a non-negative integer")
    .transform(Number)
    .optional(),
});

/** The calendar feed's `?token=`, for subscription URLs that cannot send a header; empty counts as missing (401). */
export const CalendarQuery = z.object({
  token: z.string().max(4096).optional(),
});

/** Contract 1.2: a shareable meeting link; `maxUses` is bounded by the meeting's `maxParticipants` (checked by the meeting). */
export const MintLinkBody = z.strictObject({
  lobby: z.boolean().default(true),
  maxUses: z.number().int().min(1).optional(),
  expiresInHours: z.number().positive().finite().optional(),
});

/** A lobby request's id, as the host's `lobby:knock` names it. */
export const LobbyRequestId = z.string().min(1).max(64);

export const DenyBody = z.strictObject({ reason: KickReason.optional() });

export type CreateMeetingInput = z.output<typeof CreateMeetingBody>;
export type MintLinkInput = z.output<typeof MintLinkBody>;
export type MintTokensInput = z.output<typeof MintTokensBody>;
export type DatetimeUpdateInput = z.output<typeof DatetimeUpdateBody>;
export type KickInput = z.output<typeof KickBody>;

// ---------------------------------------------------------------- objects

export const ParticipantState = z.object({
  audio: z.boolean(),
  video: z.boolean(),
  screen: z.boolean(),
  handRaised: z.boolean(),
});

export const Participant = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(["host", "participant"]),
  connected: z.boolean(),
  joinedAt: z.string(),
  state: ParticipantState,
});

export const Meeting = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(["active", "ended"]),
  scheduledAt: z.string(),
  durationMinutes: z.number().int(),
  timezone: z.string(),
  version: z.number().int(),
  maxParticipants: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  expiresAt: z.string(),
  participantCount: z.number().int(),
  participants: z.array(Participant),
});

export const ChatMessage = z.object({
  id: z.string(),
  seq: z.number().int(),
  participantId: z.string(),
  name: z.string(),
  text: z.string(),
  ts: z.string(),
});

export const ErrorEnvelope = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** Contract 1.2: a meeting link as the host sees it (never with its token). */
export const Link = z.object({
  id: z.string(),
  lobby: z.boolean(),
  maxUses: z.number().int(),
  uses: z.number().int(),
  expiresAt: z.string(),
  revoked: z.boolean(),
  createdAt: z.string(),
});

/** Someone waiting in the lobby, as hosts see them (`lobby:knock`, `meeting:joined`'s `lobby`). */
export const LobbyEntry = z.object({ requestId: z.string(), name: z.string(), linkId: z.string(), at: z.string() });

/** How a meeting's media runs (contract 1.2); `mesh` until the SFU mode lands. */
export const MediaMode = z.object({ mode: z.enum(["mesh", "sfu"]) });

export type ParticipantStateData = z.infer<typeof ParticipantState>;
export type LinkData = z.infer<typeof Link>;
export type LobbyEntryData = z.infer<typeof LobbyEntry>;
export type MediaModeData = z.infer<typeof MediaMode>;
export type ParticipantData = z.infer<typeof Participant>;
export type MeetingData = z.infer<typeof Meeting>;
export type ChatMessageData = z.infer<typeof ChatMessage>;

/**
 * One entry of `iceServers` (contract 1.1): an `RTCIceServer` a browser
 * passes to `new RTCPeerConnection({ iceServers })`. STUN entries carry only
 * `urls`; TURN entries carry short-lived credentials.
 */
export const IceServer = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServerData = z.infer<typeof IceServer>;

// ---------------------------------------------------------------- REST responses

export const CreateMeetingResponse = z.object({
  meeting: Meeting,
  hostToken: z.string(),
  participant: Participant,
  iceServers: z.array(IceServer),
  /** When the TURN credentials in `iceServers` expire: fetch fresh ones from `ice-servers` before then. */
  iceServersExpiresAt: z.string(),
});
export const JoinResponse = z.object({
  meeting: Meeting,
  participant: Participant,
  sessionToken: z.string(),
  wsUrl: z.string(),
  iceServers: z.array(IceServer),
  iceServersExpiresAt: z.string(),
});
export const IceServersResponse = z.object({ iceServers: z.array(IceServer), expiresAt: z.string() });
export const SessionTokenResponse = z.object({ sessionToken: z.string(), expiresAt: z.string() });
/** A read-only calendar token and the subscription path that carries it. */
export const CalendarTokenResponse = z.object({ token: z.string(), calendarUrl: z.string(), expiresAt: z.string() });
export type SessionTokenData = z.infer<typeof SessionTokenResponse>;
export type CalendarTokenData = z.infer<typeof CalendarTokenResponse>;
export const MeetingResponse = z.object({ meeting: Meeting });
export const MintTokensResponse = z.object({
  tokens: z.array(z.object({ token: z.string(), expiresAt: z.string() })),
});
export const HostTokenResponse = z.object({ hostToken: z.string(), expiresAt: z.string() });
export const ParticipantIdResponse = z.object({ participantId: z.string() });
/** Contract 1.2: links and the lobby. */
export const MintLinkResponse = z.object({ link: Link, token: z.string() });
export const LinksResponse = z.object({ links: z.array(Link) });
export const LinkResponse = z.object({ link: Link });
/** `POST /api/meetings/join` with a lobby link: the guest waits, on the socket its `waitToken` opens. */
export const JoinWaitingResponse = z.object({
  status: z.literal("waiting"),
  requestId: z.string(),
  waitToken: z.string(),
  wsUrl: z.string(),
});
export const AdmitResponse = z.object({ participant: Participant });
export const DenyResponse = z.object({ requestId: z.string() });
export type JoinWaitingData = z.infer<typeof JoinWaitingResponse>;

/** `GET /api/meetings/:id/stats` (host only): live numbers of one meeting. */
export const MeetingStats = z.object({
  meetingId: z.string(),
  status: z.enum(["active", "ended"]),
  version: z.number().int(),
  /** Listed participants, as in the meeting's `participantCount`. */
  participantCount: z.number().int(),
  /** Live WebSockets (one per connected participant). */
  connectedSockets: z.number().int(),
  /** Frames relayed (chat, signaling, state updates) since `messagesRelayedSince`; kept in memory only. */
  messagesRelayed: z.number().int(),
  /** When the meeting's object last started (woke from hibernation or eviction). */
  messagesRelayedSince: z.string(),
  /** Every chat message ever sent: the last `seq`. */
  chatMessagesSent: z.number().int(),
  /** Chat messages still stored (at least the last 500). */
  chatMessagesStored: z.number().int(),
  /** Participant rows stored: those listed, and removed ones kept while their session tokens could live. */
  participantsStored: z.number().int(),
  /** Join tokens stored: outstanding ones, and spent ones kept until they expire. */
  joinTokensStored: z.number().int(),
  /** Unredeemed, unexpired invites; minting beyond 1,000 is `409 INVITE_LIMIT`. */
  outstandingInvites: z.number().int(),
  /** Size of the meeting's SQLite database. */
  storageBytes: z.number().int(),
});
export const StatsResponse = z.object({ stats: MeetingStats });
export type MeetingStatsData = z.infer<typeof MeetingStats>;
export const HealthResponse = z.object({
  status: z.literal("ok"),
  service: z.string(),
  version: z.string(),
  time: z.string(),
});
export const ServiceIndexResponse = z.object({
  name: z.string(),
  version: z.string(),
  endpoints: z.array(z.object({ method: z.string(), path: z.string() })),
});

// ---------------------------------------------------------------- WebSocket frames

const SignalTarget = ParticipantId;

export const IceCandidate = z.strictObject({
  candidate: z.string().max(4096),
  sdpMid: z.string().max(256).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(65535).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional(),
});

export const ParticipantStateUpdate = ParticipantState.partial()
  .strict()
  .refine((update) => Object.keys(update).length > 0, "give at least one of audio, video, screen, handRaised");

const ClientFrameId = z.union([z.string().max(128), z.number().finite()]).optional();

const clientFrame = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z.object({ type: z.literal(type), data, id: ClientFrameId });

/** Every frame a client may send, keyed on `type`. */
export const ClientFrame = z.discriminatedUnion("type", [
  clientFrame(
    "chat:message",
    z.strictObject({
      text: z
        .string()
        .min(1)
        .max(LIMITS.CHAT_TEXT_MAX)
        .refine((text) => text.trim().length > 0, "must not be blank")
        .refine((text) => !LONE_SURROGATE.test(text), WELL_FORMED),
    }),
  ),
  clientFrame("webrtc:offer", z.strictObject({ to: SignalTarget, sdp: z.string() })),
  clientFrame("webrtc:answer", z.strictObject({ to: SignalTarget, sdp: z.string() })),
  clientFrame("webrtc:ice-candidate", z.strictObject({ to: SignalTarget, candidate: IceCandidate })),
  clientFrame("participant:update", ParticipantStateUpdate),
  clientFrame("meeting:datetime:update", DatetimeUpdateBody),
  clientFrame("host:kick-participant", KickBody),
  clientFrame("meeting:leave", z.strictObject({}).default({})),
  clientFrame("lobby:admit", z.strictObject({ requestId: LobbyRequestId })),
  clientFrame("lobby:deny", z.strictObject({ requestId: LobbyRequestId, reason: KickReason.optional() })),
]);

export type ClientFrameData = z.output<typeof ClientFrame>;
export type ClientFrameType = ClientFrameData["type"];

/** Every event the server sends, keyed on `type` (documentation and client typing). */
export const ServerEvent = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("meeting:joined"),
    // `lobby`: hosts only (contract 1.2).
    data: z.object({
      self: Participant,
      meeting: Meeting,
      chat: z.array(ChatMessage),
      lobby: z.array(LobbyEntry).optional(),
    }),
  }),
  z.object({ type: z.literal("meeting:participant-joined"), data: z.object({ participant: Participant }) }),
  z.object({
    type: z.literal("meeting:participant-left"),
    data: z.object({ participantId: z.string(), reason: z.enum(["left", "disconnected", "kicked"]) }),
  }),
  z.object({
    type: z.literal("meeting:datetime:changed"),
    data: z.object({ meeting: Meeting, updatedBy: z.string() }),
  }),
  z.object({ type: z.literal("chat:new-message"), data: ChatMessage }),
  z.object({
    type: z.literal("participant:updated"),
    data: z.object({ participantId: z.string(), state: ParticipantState }),
  }),
  z.object({ type: z.literal("meeting:kicked"), data: z.object({ reason: z.string() }) }),
  z.object({ type: z.literal("meeting:terminated"), data: z.object({}) }),
  z.object({ type: z.literal("session:replaced"), data: z.object({}) }),
  z.object({ type: z.literal("webrtc:offer"), data: z.object({ from: z.string(), sdp: z.string() }) }),
  z.object({ type: z.literal("webrtc:answer"), data: z.object({ from: z.string(), sdp: z.string() }) }),
  z.object({ type: z.literal("webrtc:ice-candidate"), data: z.object({ from: z.string(), candidate: IceCandidate }) }),
  // Contract 1.2: the lobby. Hosts get knock and left; the waiting guest's socket gets waiting, then admitted or denied.
  z.object({ type: z.literal("lobby:knock"), data: LobbyEntry }),
  z.object({
    type: z.literal("lobby:left"),
    data: z.object({ requestId: z.string(), reason: z.enum(["admitted", "denied", "gone"]) }),
  }),
  z.object({ type: z.literal("lobby:waiting"), data: z.object({ requestId: z.string() }) }),
  z.object({
    type: z.literal("lobby:admitted"),
    data: z.object({
      participant: Participant,
      sessionToken: z.string(),
      iceServers: z.array(IceServer),
      iceServersExpiresAt: z.string(),
      media: MediaMode,
    }),
  }),
  z.object({ type: z.literal("lobby:denied"), data: z.object({ reason: z.string() }) }),
]);

export type ServerEventData = z.infer<typeof ServerEvent>;
