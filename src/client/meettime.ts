/**
 * `MeetTime`: the REST half of the SDK, one method per route of API.md, each
 * resolving to the contract's response body or rejecting with a
 * `MeetTimeError`, and `connect()` for the live half (`MeetingConnection`).
 */
import { MeetingConnection, type MeetingConnectionOptions, type WebSocketConstructor } from "./connection.js";
import { MeetTimeError } from "./errors.js";
import { isoDateTime } from "./timing.js";
import type {
  CalendarTokenResult,
  CreateMeetingInput,
  CreateMeetingResult,
  HostTokenResult,
  IceServersResult,
  JoinResult,
  MediaCloseInput,
  MediaCloseResult,
  MediaRenegotiateInput,
  MediaRenegotiateResult,
  MediaSessionInput,
  MediaSessionResult,
  MediaTracksInput,
  MediaTracksResult,
  MeetingResult,
  MintInvitesInput,
  MintInvitesResult,
  ParticipantIdResult,
  RescheduleInput,
  SessionTokenResult,
} from "./types.js";

export interface MeetTimeOptions {
  /** The server, e.g. `https://meet.example.com`; in a browser defaults to the page's origin. */
  baseUrl?: string;
  /** A WebSocket implementation for runtimes without a global one (Node 20: `import WebSocket from "ws"`). */
  WebSocket?: WebSocketConstructor;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch;
}

interface RequestOptions {
  token?: string;
  body?: unknown;
}

/**
 * @example
 * const mt = new MeetTime({ baseUrl: "http://127.0.0.1:8787" });
 * const { meeting, hostToken } = await mt.createMeeting({ title: "Sync", hostName: "Ada", scheduledAt: new Date() });
 * const { tokens } = await mt.mintInvites(meeting.id, hostToken, { count: 2 });
 */
export class MeetTime {
  readonly baseUrl: string;
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: MeetTimeOptions = {}) {
    const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
    const baseUrl = options.baseUrl ?? origin;
    if (!baseUrl) throw new TypeError("MeetTime: give a baseUrl (there is no page origin to default to)");
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** An absolute URL for a server path such as `calendarUrl`. */
  url(path: string): string {
    return new URL(path, `${this.baseUrl}/`).toString();
  }

  /** `POST /api/meetings`: the meeting, the host's token and participant, and the host's ICE servers. */
  createMeeting(input: CreateMeetingInput): Promise<CreateMeetingResult> {
    return this.request("POST", "/api/meetings", { body: { ...input, scheduledAt: isoDateTime(input.scheduledAt) } });
  }

  /** `POST /api/meetings/join`: redeems an invite (once) for a seat and its session token. */
  join(inviteToken: string, displayName: string): Promise<JoinResult> {
    return this.request("POST", "/api/meetings/join", { body: { token: inviteToken, displayName } });
  }

  /** `GET /api/meetings/:id` with any valid token of the meeting (invites too). */
  getMeeting(meetingId: string, token: string): Promise<MeetingResult> {
    return this.request("GET", this.#path(meetingId), { token });
  }

  /** `POST /api/meetings/:id/tokens` (host): invites. */
  mintInvites(meetingId: string, hostToken: string, options: MintInvitesInput = {}): Promise<MintInvitesResult> {
    return this.request("POST", this.#path(meetingId, "/tokens"), { token: hostToken, body: options });
  }

  /** `POST /api/meetings/:id/host-token` (host): a fresh host token, e.g. after a reschedule moved the expiry. */
  mintHostToken(meetingId: string, hostToken: string): Promise<HostTokenResult> {
    return this.request("POST", this.#path(meetingId, "/host-token"), { token: hostToken });
  }

  /** `POST /api/meetings/:id/session-token` (session, contract 1.1): a fresh session token for the same seat. */
  renewSession(meetingId: string, sessionToken: string): Promise<SessionTokenResult> {
    return this.request("POST", this.#path(meetingId, "/session-token"), { token: sessionToken });
  }

  /** `POST /api/meetings/:id/calendar-token` (contract 1.1): a read-only token for a calendar subscription URL. */
  calendarToken(meetingId: string, token: string): Promise<CalendarTokenResult> {
    return this.request("POST", this.#path(meetingId, "/calendar-token"), { token });
  }

  /** `GET /api/meetings/:id/ice-servers` (contract 1.1): ICE servers with fresh credentials. */
  iceServers(meetingId: string, token: string): Promise<IceServersResult> {
    return this.request("GET", this.#path(meetingId, "/ice-servers"), { token });
  }

  /**
   * `PUT /api/meetings/:id/datetime` (host). With `expectedVersion` a stale edit
   * rejects with `VERSION_CONFLICT` and the current meeting in `error.details.meeting`.
   */
  reschedule(meetingId: string, hostToken: string, update: RescheduleInput): Promise<MeetingResult> {
    const body = { ...update, scheduledAt: isoDateTime(update.scheduledAt) };
    return this.request("PUT", this.#path(meetingId, "/datetime"), { token: hostToken, body });
  }

  /** `POST /api/meetings/:id/kick` (host). */
  kick(meetingId: string, hostToken: string, participantId: string, reason?: string): Promise<ParticipantIdResult> {
    const body = reason === undefined ? { participantId } : { participantId, reason };
    return this.request("POST", this.#path(meetingId, "/kick"), { token: hostToken, body });
  }

  /** `DELETE /api/meetings/:id` (host): ends the meeting for everyone. */
  terminate(meetingId: string, hostToken: string): Promise<MeetingResult> {
    return this.request("DELETE", this.#path(meetingId), { token: hostToken });
  }

  /** `POST /api/meetings/:id/leave`: a guest's session token is revoked; the host only disconnects. */
  leave(meetingId: string, token: string): Promise<ParticipantIdResult> {
    return this.request("POST", this.#path(meetingId, "/leave"), { token });
  }

  /**
   * `POST /api/meetings/:id/media/session` (contract 1.2, `sfu` meetings): this
   * participant's SFU session (a second one replaces the first). `SfuCall` drives these four.
   */
  openMediaSession(meetingId: string, token: string, body: MediaSessionInput = {}): Promise<MediaSessionResult> {
    return this.request("POST", this.#path(meetingId, "/media/session"), { token, body });
  }

  /** `POST /api/meetings/:id/media/tracks`: publish local tracks (with an offer) or pull others' by participant and name. */
  addMediaTracks(meetingId: string, token: string, body: MediaTracksInput): Promise<MediaTracksResult> {
    return this.request("POST", this.#path(meetingId, "/media/tracks"), { token, body });
  }

  /** `PUT /api/meetings/:id/media/renegotiate`: the answer to the SFU's offer. */
  renegotiateMedia(meetingId: string, token: string, body: MediaRenegotiateInput): Promise<MediaRenegotiateResult> {
    return this.request("PUT", this.#path(meetingId, "/media/renegotiate"), { token, body });
  }

  /** `PUT /api/meetings/:id/media/tracks/close`: stop publishing or pulling tracks, by mid. */
  closeMediaTracks(meetingId: string, token: string, body: MediaCloseInput): Promise<MediaCloseResult> {
    return this.request("PUT", this.#path(meetingId, "/media/tracks/close"), { token, body });
  }

  /**
   * Opens the meeting's live connection (see `MeetingConnection`). Pass the
   * create or join answer's `iceServers`/`iceServersExpiresAt` to have them
   * kept fresh, and `since` (the last chat `seq` seen) to resume a chat.
   * @example const conn = mt.connect(joined.meeting.id, joined.sessionToken, { iceServers: joined.iceServers, iceServersExpiresAt: joined.iceServersExpiresAt });
   */
  connect(meetingId: string, token: string, options: MeetingConnectionOptions = {}): MeetingConnection {
    return new MeetingConnection(this, meetingId, token, options);
  }

  /** One REST call: JSON in, the contract's JSON body out; anything but 2xx rejects with a `MeetTimeError`. */
  async request<T>(method: string, path: string, { token, body }: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(this.url(path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      text = await response.text();
    } catch (error) {
      throw MeetTimeError.client("NETWORK_ERROR", `${method} ${path} failed: ${String(error)}`, error);
    }
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch (error) {
      throw MeetTimeError.client("NETWORK_ERROR", `${method} ${path}: answer ${response.status} is not JSON`, error);
    }
    if (response.ok) return json as T;
    const error = json?.error;
    const retryAfter = Number(response.headers.get("retry-after") ?? Number.NaN);
    throw new MeetTimeError(
      typeof error?.code === "string" ? error.code : "INTERNAL",
      typeof error?.message === "string" ? error.message : `${method} ${path}: HTTP ${response.status}`,
      response.status,
      error?.details,
      Number.isFinite(retryAfter) ? retryAfter : undefined,
    );
  }

  #path(meetingId: string, suffix = ""): string {
    return `/api/meetings/${encodeURIComponent(meetingId)}${suffix}`;
  }
}
