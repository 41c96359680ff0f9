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

export type CreateMeetingInput = z.output<typeof CreateMeetingBody>;
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

export type ParticipantStateData = z.infer<typeof ParticipantState>;
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

// ---------------------------------------------------------------- media through an SFU (contract 1.2)

/** `mesh`: peer to peer over the signaling relay (1.0); `sfu`: through Cloudflare Realtime SFU. */
export const MediaMode = z.enum(["mesh", "sfu"]);
export const MEDIA_TRACKS_MAX = 64;
export const TrackName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -");
export const TrackKind = z.enum(["audio", "video"]);
/** A track a participant publishes through the SFU, as everyone else sees it. */
export const PublishedTrack = z.object({
  // The server only announces names it accepted as `TrackName`; clients need not check them again.
  trackName: z.string(),
  kind: TrackKind,
  /** True for a screen share. */
  screen: z.boolean().optional(),
});
/** `media` in the create and join answers. */
export const MediaInfo = z.object({ mode: MediaMode });
/** `media` in `meeting:joined`: for `sfu`, every participant's published tracks. */
export const JoinedMedia = z.object({
  mode: MediaMode,
  tracks: z.record(z.string(), z.array(PublishedTrack)).optional(),
});
export const SessionDescription = z.strictObject({ type: z.enum(["offer", "answer"]), sdp: z.string().min(1) });
/** A transceiver's mid on the participant's own PeerConnection. */
export const Mid = z.string().min(1).max(64);
const LocalTrackRequest = z.strictObject({
  location: z.literal("local"),
  mid: Mid,
  trackName: TrackName,
  kind: TrackKind,
  screen: z.boolean().optional(),
});
const RemoteTrackRequest = z.strictObject({
  location: z.literal("remote"),
  participantId: z.string().min(1).max(64),
  trackName: TrackName,
});
export const MediaSessionBody = z.strictObject({ sessionDescription: SessionDescription.optional() });
export const MediaTracksBody = z.strictObject({
  sessionDescription: SessionDescription.optional(),
  tracks: z
    .array(z.discriminatedUnion("location", [LocalTrackRequest, RemoteTrackRequest]))
    .min(1)
    .max(MEDIA_TRACKS_MAX),
});
export const MediaRenegotiateBody = z.strictObject({ sessionDescription: SessionDescription });
export const MediaCloseBody = z.strictObject({
  tracks: z
    .array(z.strictObject({ mid: Mid }))
    .min(1)
    .max(MEDIA_TRACKS_MAX),
  sessionDescription: SessionDescription.optional(),
  force: z.boolean().optional(),
});
const SfuItemError = { errorCode: z.string().optional(), errorDescription: z.string().optional() };
const AnsweredDescription = z.object({ type: z.enum(["offer", "answer"]), sdp: z.string() });
export const MediaSessionResponse = z.object({ sessionDescription: AnsweredDescription.optional() });
/** One track of the SFU's answer; `participantId` stands where the SFU wrote a session id. */
export const MediaTrackResult = z.object({
  mid: z.string().optional(),
  trackName: z.string().optional(),
  participantId: z.string().optional(),
  ...SfuItemError,
});
export const MediaTracksResponse = z.object({
  requiresImmediateRenegotiation: z.boolean(),
  sessionDescription: AnsweredDescription.optional(),
  tracks: z.array(MediaTrackResult),
});
export const MediaRenegotiateResponse = z.object({ sessionDescription: AnsweredDescription.optional() });
export const MediaCloseResponse = z.object({
  requiresImmediateRenegotiation: z.boolean(),
  sessionDescription: AnsweredDescription.optional(),
  tracks: z.array(z.object({ mid: z.string(), ...SfuItemError })),
});

export type MediaModeData = z.infer<typeof MediaMode>;
export type PublishedTrackData = z.infer<typeof PublishedTrack>;
export type JoinedMediaData = z.infer<typeof JoinedMedia>;
export type SessionDescriptionData = z.infer<typeof SessionDescription>;
export type MediaTracksInput = z.infer<typeof MediaTracksBody>;
export type MediaCloseInput = z.infer<typeof MediaCloseBody>;
export type MediaTracksAnswer = z.infer<typeof MediaTracksResponse>;
export type MediaCloseAnswer = z.infer<typeof MediaCloseResponse>;

// ---------------------------------------------------------------- REST responses

export const CreateMeetingResponse = z.object({
  meeting: Meeting,
  hostToken: z.string(),
  participant: Participant,
  iceServers: z.array(IceServer),
  /** When the TURN credentials in `iceServers` expire: fetch fresh ones from `ice-servers` before then. */
  iceServersExpiresAt: z.string(),
  media: MediaInfo,
});
export const JoinResponse = z.object({
  meeting: Meeting,
  participant: Participant,
  sessionToken: z.string(),
  wsUrl: z.string(),
  iceServers: z.array(IceServer),
  iceServersExpiresAt: z.string(),
  media: MediaInfo,
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
]);

export type ClientFrameData = z.output<typeof ClientFrame>;
export type ClientFrameType = ClientFrameData["type"];

/** Every event the server sends, keyed on `type` (documentation and client typing). */
export const ServerEvent = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("meeting:joined"),
    data: z.object({ self: Participant, meeting: Meeting, chat: z.array(ChatMessage), media: JoinedMedia }),
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
  z.object({
    type: z.literal("media:tracks"),
    data: z.object({ participantId: z.string(), tracks: z.array(PublishedTrack) }),
  }),
]);

export type ServerEventData = z.infer<typeof ServerEvent>;
