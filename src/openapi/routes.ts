/**
 * The route table: every HTTP route of API.md with the zod schemas its
 * handler validates with and the errors it may answer. `GET /` and the
 * OpenAPI document are both produced from it; a test checks it against the
 * routes the app really registers, so a route cannot be added without
 * appearing here. Adding a route is one entry.
 */
import type { z } from "zod";
import type { ErrorCode } from "../errors";
import {
  CalendarQuery,
  CalendarTokenResponse,
  CreateMeetingBody,
  CreateMeetingResponse,
  DatetimeUpdateBody,
  HealthResponse,
  HostTokenResponse,
  IceServersResponse,
  IfMatchHeader,
  JoinBody,
  JoinResponse,
  KickBody,
  MediaCloseBody,
  MediaCloseResponse,
  MediaRenegotiateBody,
  MediaRenegotiateResponse,
  MediaSessionBody,
  MediaSessionResponse,
  MediaTracksBody,
  MediaTracksResponse,
  MeetingResponse,
  MintTokensBody,
  MintTokensResponse,
  ParticipantIdResponse,
  ServiceIndexResponse,
  SessionTokenResponse,
  StatsResponse,
  WebSocketQuery,
} from "../protocol/schemas";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";
export type RouteTag = "Meetings" | "Realtime" | "Calendar" | "Service";
/** Where a route accepts its token: `Authorization: Bearer`, or `?token=` for links and sockets. */
export type TokenCarrier = "bearer" | "query";

export interface RouteSuccess {
  status: 101 | 200 | 201;
  description: string;
  /** A response schema from `protocol/schemas`; absent for non-JSON bodies and the upgrade. */
  schema?: z.ZodType;
  /** Defaults to `application/json`. */
  mediaType?: string;
  headers?: Record<string, string>;
}

export interface RouteDoc {
  method: HttpMethod;
  /** As API.md writes it: `:id` is the meeting id. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: RouteTag;
  /** Who may call the route, and where the token goes; absent for routes open to anyone. */
  auth?: { who: string; via: readonly TokenCarrier[] };
  body?: z.ZodType;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  success: RouteSuccess;
  /** The contract's errors this route may answer, besides the ones every route may (429, 500). */
  errors?: readonly ErrorCode[];
}

const JSON_BODY_ERRORS = ["VALIDATION_FAILED", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"] as const;
const HOST_ACTION_ERRORS = ["UNAUTHORIZED", "NOT_FOUND", "FORBIDDEN", "MEETING_ENDED"] as const;
const HOST = { who: "host token", via: ["bearer"] } as const;
const MEMBER = { who: "host or session token", via: ["bearer"] } as const;
/** Contract 1.2: the `/media/*` routes' errors, in the contract's order (429 is the per-participant bucket). */
const MEDIA_ERRORS = [...JSON_BODY_ERRORS, ...HOST_ACTION_ERRORS, "MEDIA_MODE", "UNAVAILABLE"] as const;
const SFU_NOTE =
  "The worker calls the SFU with the caller's own SFU session, which only the server knows (5 s at most): an SFU that fails or is slower answers 503 (nothing recorded), one that refuses the request (a bad SDP) 400 with `details: { errorCode, errorDescription }`. 409 `MEDIA_MODE` on a `mesh` meeting. Limited per participant (50, refilled 10 a second: 429 with `Retry-After`), not counted in the per-IP limit.";
const ETAG = { ETag: 'The meeting\'s version, quoted (`"3"`): send it back as `If-Match` to update safely.' };

const createMeeting = {
  method: "POST",
  tag: "Meetings",
  summary: "Create a meeting",
  description:
    "The creator becomes the host: the answer carries the host token, the host as a participant, and the host's `iceServers` (STUN, TURN with fresh credentials) with their `iceServersExpiresAt`.",
  body: CreateMeetingBody,
  success: { status: 201, description: "The meeting, the host token and the host.", schema: CreateMeetingResponse },
  errors: JSON_BODY_ERRORS,
} as const;

export const ROUTES: readonly RouteDoc[] = [
  { ...createMeeting, path: "/api/meetings/create", operationId: "createMeeting" },
  {
    ...createMeeting,
    path: "/api/meetings",
    operationId: "createMeetingAlias",
    summary: "Create a meeting (alias of POST /api/meetings/create)",
  },
  {
    method: "POST",
    path: "/api/meetings/join",
    operationId: "joinMeeting",
    tag: "Meetings",
    summary: "Redeem a join token",
    description:
      "Join tokens are single-use: a second redemption, even a racing one, is 409 TOKEN_ALREADY_USED. The answer carries the participant's `iceServers` and `iceServersExpiresAt`.",
    body: JoinBody,
    success: { status: 200, description: "The session token and the socket path.", schema: JoinResponse },
    errors: [
      ...JSON_BODY_ERRORS,
      "UNAUTHORIZED",
      "NOT_FOUND",
      "FORBIDDEN",
      "MEETING_ENDED",
      "TOKEN_ALREADY_USED",
      "MEETING_FULL",
    ],
  },
  {
    method: "GET",
    path: "/api/meetings/:id",
    operationId: "getMeeting",
    tag: "Meetings",
    summary: "Read a meeting",
    auth: { who: "any valid token of the meeting (an unredeemed join token too)", via: ["bearer"] },
    success: { status: 200, description: "The meeting.", schema: MeetingResponse, headers: ETAG },
    errors: ["UNAUTHORIZED", "NOT_FOUND", "FORBIDDEN"],
  },
  {
    method: "DELETE",
    path: "/api/meetings/:id",
    operationId: "terminateMeeting",
    tag: "Meetings",
    summary: "End a meeting",
    description:
      "Every socket gets `meeting:terminated` and is closed with 4000; the meeting stays readable until it expires.",
    auth: HOST,
    success: { status: 200, description: 'The meeting, with `status: "ended"`.', schema: MeetingResponse },
    errors: HOST_ACTION_ERRORS,
  },
  {
    method: "POST",
    path: "/api/meetings/:id/tokens",
    operationId: "mintJoinTokens",
    tag: "Meetings",
    summary: "Mint join tokens (invites)",
    description:
      "A meeting holds at most 1,000 outstanding (unredeemed, unexpired) invites: a mint that would exceed it is 409 INVITE_LIMIT and mints none.",
    auth: HOST,
    body: MintTokensBody,
    success: { status: 201, description: "The new single-use join tokens.", schema: MintTokensResponse },
    errors: [...JSON_BODY_ERRORS, ...HOST_ACTION_ERRORS, "INVITE_LIMIT"],
  },
  {
    method: "POST",
    path: "/api/meetings/:id/host-token",
    operationId: "mintHostToken",
    tag: "Meetings",
    summary: "Mint a fresh host token",
    description: "Valid until the meeting's current expiry; earlier host tokens stay valid until their own.",
    auth: HOST,
    success: { status: 201, description: "The new host token.", schema: HostTokenResponse },
    errors: HOST_ACTION_ERRORS,
  },
  {
    method: "PUT",
    path: "/api/meetings/:id/datetime",
    operationId: "updateMeetingDatetime",
    tag: "Meetings",
    summary: "Reschedule a meeting",
    description:
      "Fields left out keep their value. With `expectedVersion` or `If-Match` a stale version is refused with 409 VERSION_CONFLICT and the current meeting in `details.meeting`. Every accepted change increments `version` and is broadcast as `meeting:datetime:changed`.",
    auth: HOST,
    body: DatetimeUpdateBody,
    headers: IfMatchHeader,
    success: { status: 200, description: "The rescheduled meeting.", schema: MeetingResponse, headers: ETAG },
    errors: [...JSON_BODY_ERRORS, ...HOST_ACTION_ERRORS, "VERSION_CONFLICT"],
  },
  {
    method: "POST",
    path: "/api/meetings/:id/kick",
    operationId: "kickParticipant",
    tag: "Meetings",
    summary: "Remove a participant",
    description:
      "The participant gets `meeting:kicked`, its socket closes with 4003 and its session token is revoked. The host cannot kick itself (400).",
    auth: HOST,
    body: KickBody,
    success: { status: 200, description: "The removed participant's id.", schema: ParticipantIdResponse },
    errors: [...JSON_BODY_ERRORS, ...HOST_ACTION_ERRORS],
  },
  {
    method: "POST",
    path: "/api/meetings/:id/leave",
    operationId: "leaveMeeting",
    tag: "Meetings",
    summary: "Leave a meeting",
    description: "A participant's session token is revoked; the host only disconnects and may come back.",
    auth: MEMBER,
    success: { status: 200, description: "The id of the participant who left.", schema: ParticipantIdResponse },
    errors: HOST_ACTION_ERRORS,
  },
  {
    method: "POST",
    path: "/api/meetings/:id/session-token",
    operationId: "renewSessionToken",
    tag: "Meetings",
    summary: "Renew a session token",
    description:
      "A fresh session token for the same participant (`TOKEN_EXPIRY_HOURS`, capped at the meeting's expiry); the presented one stays valid until its own expiry. Session tokens only: a host token is 403 (the host renews with `host-token`). 410 once the meeting ended.",
    auth: { who: "session token", via: ["bearer"] },
    success: { status: 201, description: "The new session token.", schema: SessionTokenResponse },
    errors: HOST_ACTION_ERRORS,
  },
  {
    method: "POST",
    path: "/api/meetings/:id/calendar-token",
    operationId: "mintCalendarToken",
    tag: "Calendar",
    summary: "Mint a calendar token for a subscription URL",
    description:
      "A read-only token that only `calendar.ics` accepts (403 anywhere else), valid while the meeting exists (it follows reschedules; `expiresAt` is the meeting's current expiry) and revoked when the participant who minted it leaves or is kicked. `calendarUrl` is the path to subscribe to. 410 once the meeting ended.",
    auth: MEMBER,
    success: {
      status: 201,
      description: "The calendar token and its subscription path.",
      schema: CalendarTokenResponse,
    },
    errors: HOST_ACTION_ERRORS,
  },
  {
    method: "GET",
    path: "/api/meetings/:id/ice-servers",
    operationId: "getIceServers",
    tag: "Realtime",
    summary: "ICE servers with fresh TURN credentials",
    description:
      "`RTCIceServer` entries for `new RTCPeerConnection({ iceServers })`: STUN, plus TURN with credentials valid for `TURN_TTL_SECONDS`, never past the presented token's expiry. A TURN provider that fails or takes over 2 s is left out (STUN only), never an error. 410 once the meeting ended.",
    auth: MEMBER,
    success: {
      status: 200,
      description: "The ICE servers and when their credentials expire.",
      schema: IceServersResponse,
    },
    errors: HOST_ACTION_ERRORS,
  },
  {
    method: "GET",
    path: "/api/meetings/:id/stats",
    operationId: "meetingStats",
    tag: "Meetings",
    summary: "Live numbers of a meeting",
    description:
      "Connected sockets, participants, frames relayed since the meeting's object last woke, chat sent and stored, storage size. Readable until the meeting expires.",
    auth: HOST,
    success: { status: 200, description: "The meeting's numbers.", schema: StatsResponse },
    errors: ["UNAUTHORIZED", "NOT_FOUND", "FORBIDDEN"],
  },
  {
    method: "POST",
    path: "/api/meetings/:id/media/session",
    operationId: "openMediaSession",
    tag: "Realtime",
    summary: "Open the caller's SFU session",
    description: `The SFU's \`sessions/new\`. One session per participant: a second one replaces the first, whose published tracks are withdrawn (\`media:tracks\`). ${SFU_NOTE}`,
    auth: MEMBER,
    body: MediaSessionBody,
    success: {
      status: 201,
      description: "The SFU's answer to the offer, if one was sent.",
      schema: MediaSessionResponse,
    },
    errors: MEDIA_ERRORS,
  },
  {
    method: "POST",
    path: "/api/meetings/:id/media/tracks",
    operationId: "addMediaTracks",
    tag: "Realtime",
    summary: "Publish local tracks, pull others' tracks",
    description: `The SFU's \`tracks/new\` on the caller's session, 1 to 64 tracks. A remote track names its publisher by \`participantId\` (404 when that participant does not publish it, before the SFU is called); the answer names it the same way. Publishing announces \`media:tracks\` to everyone else. 404 without a session. ${SFU_NOTE}`,
    auth: MEMBER,
    body: MediaTracksBody,
    success: { status: 200, description: "The SFU's answer, with participant ids.", schema: MediaTracksResponse },
    errors: MEDIA_ERRORS,
  },
  {
    method: "PUT",
    path: "/api/meetings/:id/media/renegotiate",
    operationId: "renegotiateMedia",
    tag: "Realtime",
    summary: "Answer the SFU's offer",
    description: `The SFU's \`renegotiate\` on the caller's session, after an answer with \`requiresImmediateRenegotiation\`. ${SFU_NOTE}`,
    auth: MEMBER,
    body: MediaRenegotiateBody,
    success: { status: 200, description: "The SFU's answer.", schema: MediaRenegotiateResponse },
    errors: MEDIA_ERRORS,
  },
  {
    method: "PUT",
    path: "/api/meetings/:id/media/tracks/close",
    operationId: "closeMediaTracks",
    tag: "Realtime",
    summary: "Close tracks of the caller's session",
    description: `The SFU's \`tracks/close\` (\`force: true\` without a \`sessionDescription\`). Closing published tracks announces \`media:tracks\`. ${SFU_NOTE}`,
    auth: MEMBER,
    body: MediaCloseBody,
    success: { status: 200, description: "The SFU's answer.", schema: MediaCloseResponse },
    errors: MEDIA_ERRORS,
  },
  {
    method: "GET",
    path: "/api/meetings/:id/calendar.ics",
    operationId: "getMeetingCalendar",
    tag: "Calendar",
    summary: "Calendar feed (iCalendar)",
    description:
      "One VEVENT with a stable `UID`, `SEQUENCE` = version − 1 and UTC `DTSTART`/`DTEND`; `STATUS:CANCELLED` once the meeting ended. Subscribe to `…/calendar.ics?token=<token>` and calendar apps follow reschedules.",
    auth: {
      who: "a calendar token (see `calendar-token`), or any other valid token of the meeting (an unredeemed join token too)",
      via: ["bearer", "query"],
    },
    query: CalendarQuery,
    success: { status: 200, description: "The iCalendar feed.", mediaType: "text/calendar" },
    errors: ["VALIDATION_FAILED", "UNAUTHORIZED", "NOT_FOUND", "FORBIDDEN"],
  },
  {
    method: "GET",
    path: "/api/meetings/:id/ws",
    operationId: "connectMeetingSocket",
    tag: "Realtime",
    summary: "Meeting WebSocket",
    auth: { who: "host or session token", via: ["query"] },
    query: WebSocketQuery,
    success: { status: 101, description: "Switching protocols: the socket is open." },
    errors: ["VALIDATION_FAILED", "UNAUTHORIZED", "UPGRADE_REQUIRED", "NOT_FOUND", "FORBIDDEN", "MEETING_ENDED"],
  },
  {
    method: "GET",
    path: "/health",
    operationId: "health",
    tag: "Service",
    summary: "Liveness",
    success: { status: 200, description: "The service is up.", schema: HealthResponse },
  },
  {
    method: "GET",
    path: "/",
    operationId: "serviceIndex",
    tag: "Service",
    summary: "Service name, version and endpoints",
    success: { status: 200, description: "Every endpoint, as method and path.", schema: ServiceIndexResponse },
  },
  {
    method: "GET",
    path: "/openapi.json",
    operationId: "openApiDocument",
    tag: "Service",
    summary: "This OpenAPI 3.1 document",
    success: { status: 200, description: "The OpenAPI document." },
  },
  {
    method: "GET",
    path: "/docs",
    operationId: "apiDocsPage",
    tag: "Service",
    summary: "Interactive API documentation (Swagger UI, served from this origin)",
    success: { status: 200, description: "An HTML page.", mediaType: "text/html" },
  },
];

/** `GET /`'s list: method and path of every route, in table order. */
export const ENDPOINTS = ROUTES.map(({ method, path }) => ({ method, path }));
