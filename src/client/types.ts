/**
 * The SDK's types, all derived from the server's zod schemas
 * (src/protocol/schemas.ts) so the client and the server cannot drift:
 * request bodies are the schemas' inputs (what a caller writes), answers and
 * events their outputs (what the server sends).
 */
import type { z } from "zod";
import type {
  AdmitResponse,
  CalendarTokenResponse,
  ChatMessage,
  ClientFrame,
  CreateMeetingBody,
  CreateMeetingResponse,
  DatetimeUpdateBody,
  DenyResponse,
  HostTokenResponse,
  IceServer as IceServerSchema,
  IceServersResponse,
  JoinedMedia,
  JoinResponse,
  JoinWaitingResponse,
  Link,
  LinkResponse,
  LinksResponse,
  LobbyEntry,
  MediaCloseBody,
  MediaCloseResponse,
  MediaRenegotiateBody,
  MediaRenegotiateResponse,
  MediaSessionBody,
  MediaSessionResponse,
  MediaTracksBody,
  MediaTracksResponse,
  Meeting,
  MeetingResponse,
  MintLinkBody,
  MintLinkResponse,
  MintTokensBody,
  MintTokensResponse,
  Participant,
  ParticipantIdResponse,
  ParticipantState,
  PublishedTrack,
  ServerEvent,
  SessionTokenResponse,
} from "../protocol/schemas.js";

export type MeetingData = z.output<typeof Meeting>;
export type ParticipantData = z.output<typeof Participant>;
export type ParticipantStateData = z.output<typeof ParticipantState>;
export type ChatMessageData = z.output<typeof ChatMessage>;

/** One `RTCIceServer` (`{ urls, username?, credential? }`): it goes straight into `new RTCPeerConnection`. */
export type IceServer = z.output<typeof IceServerSchema>;

/** Contract 1.1: create and join answers carry the caller's ICE servers and when their credentials expire. */
export type IceServersInfo = Pick<z.output<typeof JoinResponse>, "iceServers" | "iceServersExpiresAt">;

/** A date-time field as the SDK takes it: an ISO-8601 string (with `Z` or an offset) or a `Date`. */
export type DateTimeInput = string | Date;

type WithDate<T> = Omit<T, "scheduledAt"> & { scheduledAt?: DateTimeInput };

export type CreateMeetingInput = WithDate<z.input<typeof CreateMeetingBody>> & { scheduledAt: DateTimeInput };
export type RescheduleInput = WithDate<z.input<typeof DatetimeUpdateBody>>;
export type MintInvitesInput = z.input<typeof MintTokensBody>;

export type CreateMeetingResult = z.output<typeof CreateMeetingResponse>;
export type JoinResult = z.output<typeof JoinResponse>;
export type MeetingResult = z.output<typeof MeetingResponse>;
export type MintInvitesResult = z.output<typeof MintTokensResponse>;
export type HostTokenResult = z.output<typeof HostTokenResponse>;
export type ParticipantIdResult = z.output<typeof ParticipantIdResponse>;
/** `POST /api/meetings/:id/session-token` (contract 1.1). */
export type SessionTokenResult = z.output<typeof SessionTokenResponse>;
/** `POST /api/meetings/:id/calendar-token` (contract 1.1); `calendarUrl` is a path on the server (`mt.url()`). */
export type CalendarTokenResult = z.output<typeof CalendarTokenResponse>;
/** `GET /api/meetings/:id/ice-servers` (contract 1.1). */
export type IceServersResult = z.output<typeof IceServersResponse>;

/** Contract 1.2: a shareable meeting link as the host sees it (`{ id, lobby, maxUses, uses, expiresAt, revoked, createdAt }`). */
export type LinkData = z.output<typeof Link>;
/** Contract 1.2: someone waiting in the lobby, as hosts see them (`lobby:knock`, `conn.lobby`). */
export type LobbyEntryData = z.output<typeof LobbyEntry>;
/** `POST /api/meetings/:id/links` (host): `lobby` defaults to true, `maxUses` to the meeting's `maxParticipants`. */
export type CreateLinkInput = z.input<typeof MintLinkBody>;
/** The new link and its token (the only time the token is told: put it in the link you share). */
export type CreateLinkResult = z.output<typeof MintLinkResponse>;
export type ListLinksResult = z.output<typeof LinksResponse>;
export type RevokeLinkResult = z.output<typeof LinkResponse>;
/** `POST …/lobby/:requestId/admit`: the new participant. */
export type AdmitResult = z.output<typeof AdmitResponse>;
/** `POST …/lobby/:requestId/deny`. */
export type DenyResult = z.output<typeof DenyResponse>;
/** A lobby link's `202` answer to a join: the guest waits for a host. */
export type JoinWaitingResult = z.output<typeof JoinWaitingResponse>;
/** Contract 1.2: how a meeting's media flows (`mesh` or `sfu`) and, for `sfu`, who publishes which tracks. */
export type MediaData = z.output<typeof JoinedMedia>;
export type MediaMode = MediaData["mode"];
/** A track a participant publishes through the SFU: `{ trackName, kind, screen? }`. */
export type PublishedTrackData = z.output<typeof PublishedTrack>;
export type MediaSessionInput = z.input<typeof MediaSessionBody>;
export type MediaSessionResult = z.output<typeof MediaSessionResponse>;
export type MediaTracksInput = z.input<typeof MediaTracksBody>;
export type MediaTracksResult = z.output<typeof MediaTracksResponse>;
export type MediaRenegotiateInput = z.input<typeof MediaRenegotiateBody>;
export type MediaRenegotiateResult = z.output<typeof MediaRenegotiateResponse>;
export type MediaCloseInput = z.input<typeof MediaCloseBody>;
export type MediaCloseResult = z.output<typeof MediaCloseResponse>;

/** Every event the server sends, keyed on `type`. */
export type ServerEventData = z.output<typeof ServerEvent>;
export type ServerEventType = ServerEventData["type"];
/** The `data` of each server event, by its `type`: `ServerEventMap["chat:new-message"]` is a chat message. */
export type ServerEventMap = { [E in ServerEventData as E["type"]]: E["data"] };

/** Every frame a client may send, as the caller writes it. */
export type ClientFrameInput = z.input<typeof ClientFrame>;
export type ClientFrameType = ClientFrameInput["type"];
/** The `data` of each client frame, by its `type`. */
export type ClientFrameMap = { [F in ClientFrameInput as F["type"]]: F["data"] };
