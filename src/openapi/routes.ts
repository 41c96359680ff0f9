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
  AdmitResponse,
  CalendarQuery,
  CalendarTokenResponse,
  CreateMeetingBody,
  CreateMeetingResponse,
  DatetimeUpdateBody,
  DenyBody,
  DenyResponse,
  HealthResponse,
  HostTokenResponse,
  IceServersResponse,
  IfMatchHeader,
  JoinBody,
  JoinResponse,
  JoinWaitingResponse,
  KickBody,
  LinkResponse,
  LinksResponse,
  MeetingResponse,
  MintLinkBody,
  MintLinkResponse,
  MintTokensBody,
  MintTokensResponse,
  ParticipantIdResponse,
  ServiceIndexResponse,
  SessionTokenResponse,
  StatsResponse,
  WebSocketQuery,
} from "../protocol/schemas";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";
export type RouteTag = "Meetings" | "Links" | "Realtime" | "Calendar" | "Service";
/** Where a route accepts its token: `Authorization: Bearer`, or `?token=` for links and sockets. */
export type TokenCarrier = "bearer" | "query";

export interface RouteSuccess {
  status: 101 | 200 | 201;
  /** Another success answer of the same route (a link join that waits in the lobby: 202). */
  also?: { status: 202; description: string; schema: z.ZodType };
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
    summary: "Redeem a join token or a meeting link",
    description:
      "Join tokens are single-use: a second redemption, even a racing one, is 409 TOKEN_ALREADY_USED. The answer carries the participant's `iceServers` and `iceServersExpiresAt`. A meeting link (contract 1.2) is not spent: without a lobby each join is a new participant and counts one use (409 LINK_EXHAUSTED past `maxUses`, 403 once revoked); with a lobby the answer is 202 with a `waitToken` that opens the lobby socket (409 LOBBY_FULL when 50 already wait).",
    body: JoinBody,
    success: {
      status: 200,
      description: "The session token and the socket path.",
      schema: JoinResponse,
      also: {
        status: 202,
        description: "A lobby link: the guest waits; its wait token opens the lobby socket at `wsUrl`.",
        schema: JoinWaitingResponse,
      },
    },
    errors: [
      ...JSON_BODY_ERRORS,
      "UNAUTHORIZED",
      "NOT_FOUND",
      "FORBIDDEN",
      "MEETING_ENDED",
      "TOKEN_ALREADY_USED",
      "MEETING_FULL",
      "LINK_EXHAUSTED",
      "LOBBY_FULL",
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
    path: "/api/meetings/:id/links",
    operationId: "mintMeetingLink",
    tag: "Links",
    summary: "Mint a shareable meeting link",
    description:
      "One token for many people (`maxUses`, default and at most `maxParticipants`), with the lobby (default) or without. `expiresInHours` as for invites. At most 20 unrevoked, unexpired links (409 INVITE_LIMIT).",
    auth: HOST,
    body: MintLinkBody,
    success: { status: 201, description: "The link and its token.", schema: MintLinkResponse },
    errors: [...JSON_BODY_ERRORS, ...HOST_ACTION_ERRORS, "INVITE_LIMIT"],
  },
  {
    method: "GET",
    path: "/api/meetings/:id/links",
    operationId: "listMeetingLinks",
    tag: "Links",
    summary: "List the meeting's links",
    description: "Every link not yet expired, revoked ones included; never their tokens.",
    auth: HOST,
    success: { status: 200, description: "The links.", schema: LinksResponse },
    errors: ["UNAUTHORIZED", "NOT_FOUND", "FORBIDDEN"],
  },
  {
    method: "DELETE",
    path: "/api/meetings/:id/links/:linkId",
    operationId: "revokeMeetingLink",
    tag: "Links",
    summary: "Revoke a meeting link",
    description:
      "The link's token is refused from now on (403); everyone waiting on it is denied. Revoking again answers the same.",
    auth: HOST,
    success: { status: 200, description: "The link, with `revoked: true`.", schema: LinkResponse },
    errors: HOST_ACTION_ERRORS,
  },
  {
    method: "POST",
    path: "/api/meetings/:id/lobby/:requestId/admit",
    operationId: "admitFromLobby",
    tag: "Links",
    summary: "Admit someone waiting in the lobby",
    description:
      "The guest becomes a participant and gets `lobby:admitted` with its session token. Counts the link's use and `maxParticipants` now: 409 LINK_EXHAUSTED or MEETING_FULL leave the guest waiting. A request already answered or gone is 404.",
    auth: HOST,
    success: { status: 200, description: "The new participant.", schema: AdmitResponse },
    errors: [...HOST_ACTION_ERRORS, "LINK_EXHAUSTED", "MEETING_FULL"],
  },
  {
    method: "POST",
    path: "/api/meetings/:id/lobby/:requestId/deny",
    operationId: "denyFromLobby",
    tag: "Links",
    summary: "Turn away someone waiting in the lobby",
    description: "The guest gets `lobby:denied` with the reason. A request already answered or gone is 404.",
    auth: HOST,
    body: DenyBody,
    success: { status: 200, description: "The request's id.", schema: DenyResponse },
    errors: [...JSON_BODY_ERRORS, ...HOST_ACTION_ERRORS],
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
    auth: { who: "host or session token; a wait token opens the lobby socket", via: ["query"] },
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
