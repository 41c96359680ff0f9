/**
 * `MeetTime`: the REST half of the SDK, one method per route of API.md, each
 * resolving to the contract's response body or rejecting with a
 * `MeetTimeError`, and `connect()` for the live half (`MeetingConnection`).
 */
import { MeetingConnection, type MeetingConnectionOptions, type WebSocketConstructor } from "./connection.js";
import { MeetTimeError } from "./errors.js";
import { type LobbyTicket, type LobbyWaitOptions, waitInLobby } from "./lobby-wait.js";
import { isoDateTime } from "./timing.js";
import type {
  AdmitResult,
  CalendarTokenResult,
  CreateLinkInput,
  CreateLinkResult,
  CreateMeetingInput,
  CreateMeetingResult,
  DenyResult,
  HostTokenResult,
  IceServersResult,
  JoinResult,
  JoinWaitingResult,
  ListLinksResult,
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
  RevokeLinkResult,
  SessionTokenResult,
} from "./types.js";

/** How `join` goes on when a lobby link puts the guest in the lobby (contract 1.2). */
export interface JoinOptions extends LobbyWaitOptions {
  /**
   * Called once, at the `202` answer, before the wait's socket opens: tell the
   * person they wait for a host, and keep the ticket to resume after a reload
   * (`mt.waitInLobby(ticket)`).
   */
  onWaiting?: (ticket: LobbyTicket) => void;
}

export interface MeetTimeOptions {
  /** The server, e.g. `https://meet.example.com`; in a browser defaults to the page's origin. */
  baseUrl?: string;
  /** A WebSocket implementation for runtimes without a global one (Node 20: `import WebSocket from "ws"`). */
  WebSocket?: WebSocketConstructor;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch;
  /** A create key for servers that set CREATE_KEYS; `createMeeting` sends it unless given another. */
  createKey?: string;
}

export interface CreateMeetingOptions {
  /** One of the server's CREATE_KEYS, sent as `Authorization: Bearer <key>`; only servers that set them need one. */
  createKey?: string;
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
  readonly #createKey: string | undefined;

  constructor(options: MeetTimeOptions = {}) {
    const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
    const baseUrl = options.baseUrl ?? origin;
    if (!baseUrl) throw new TypeError("MeetTime: give a baseUrl (there is no page origin to default to)");
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#createKey = options.createKey;
  }

  /** An absolute URL for a server path such as `calendarUrl`. */
  url(path: string): string {
    return new URL(path, `${this.baseUrl}/`).toString();
  }

  /**
   * `POST /api/meetings/create` (the path a Cloudflare Access application can guard on its own): the meeting, the host's token and participant, and the host's ICE servers.
   * A server that restricts creation answers `UNAUTHORIZED` without a create key (or, behind
   * Cloudflare Access, without the Access sign-in the browser's cookie carries).
   * @example await mt.createMeeting({ title: "Sync", hostName: "Ada", scheduledAt: new Date() }, { createKey })
   */
  createMeeting(input: CreateMeetingInput, options: CreateMeetingOptions = {}): Promise<CreateMeetingResult> {
    const body = { ...input, scheduledAt: isoDateTime(input.scheduledAt) };
    return this.request("POST", "/api/meetings/create", { body, token: options.createKey ?? this.#createKey });
  }

  /**
   * `POST /api/meetings/join` with an invite (spent once) or a meeting link
   * (contract 1.2): the seat and its session token. With a lobby link the
   * guest waits first: `onWaiting` is told, and the promise resolves with the
   * same answer once a host admits, or rejects with `LOBBY_DENIED` (its
   * `details.reason`), `LOBBY_WAIT_ENDED`, `MEETING_ENDED`, or `CLOSED` (the
   * `signal` aborted). Refusals of the link itself: `LINK_EXHAUSTED`,
   * `LOBBY_FULL`, `FORBIDDEN` (revoked), `UNAUTHORIZED` (expired).
   * @example
   * const joined = await mt.join(linkToken, "Grace", { onWaiting: (ticket) => showWaiting(ticket) });
   */
  async join(token: string, displayName: string, options: JoinOptions = {}): Promise<JoinResult> {
    const answer = await this.request<JoinResult | JoinWaitingResult>("POST", "/api/meetings/join", {
      body: { token, displayName },
    });
    if (!("status" in answer && answer.status === "waiting")) return answer as JoinResult;
    const ticket: LobbyTicket = {
      meetingId: meetingIdOfWsUrl(answer.wsUrl),
      requestId: answer.requestId,
      waitToken: answer.waitToken,
    };
    options.onWaiting?.(ticket);
    return waitInLobby(this, ticket, options);
  }

  /**
   * Waits in a lobby (again) from a ticket `join` gave `onWaiting`: after a
   * reload the guest keeps their place. Settles as `join` does.
   */
  waitInLobby(ticket: LobbyTicket, options: LobbyWaitOptions = {}): Promise<JoinResult> {
    return waitInLobby(this, ticket, options);
  }

  /** `POST /api/meetings/:id/links` (host, contract 1.2): a shareable meeting link; the token is told only now. */
  createLink(meetingId: string, hostToken: string, options: CreateLinkInput = {}): Promise<CreateLinkResult> {
    return this.request("POST", this.#path(meetingId, "/links"), { token: hostToken, body: options });
  }

  /** `GET /api/meetings/:id/links` (host): every link, revoked ones too until they expire; no tokens. */
  listLinks(meetingId: string, hostToken: string): Promise<ListLinksResult> {
    return this.request("GET", this.#path(meetingId, "/links"), { token: hostToken });
  }

  /** `DELETE /api/meetings/:id/links/:linkId` (host): the link stops working, and everyone waiting on it is denied. */
  revokeLink(meetingId: string, hostToken: string, linkId: string): Promise<RevokeLinkResult> {
    return this.request("DELETE", this.#path(meetingId, `/links/${encodeURIComponent(linkId)}`), { token: hostToken });
  }

  /** `POST /api/meetings/:id/lobby/:requestId/admit` (host); a connected host can use `conn.admit` instead. */
  admit(meetingId: string, hostToken: string, requestId: string): Promise<AdmitResult> {
    return this.request("POST", this.#path(meetingId, `/lobby/${encodeURIComponent(requestId)}/admit`), {
      token: hostToken,
    });
  }

  /** `POST /api/meetings/:id/lobby/:requestId/deny` (host); `conn.deny` over the socket does the same. */
  deny(meetingId: string, hostToken: string, requestId: string, reason?: string): Promise<DenyResult> {
    const path = this.#path(meetingId, `/lobby/${encodeURIComponent(requestId)}/deny`);
    return this.request("POST", path, { token: hostToken, body: reason === undefined ? {} : { reason } });
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

/** The meeting id in a `wsUrl` (`/api/meetings/<id>/ws`). */
function meetingIdOfWsUrl(wsUrl: string): string {
  const match = /\/api\/meetings\/([^/]+)\/ws/.exec(wsUrl);
  if (!match?.[1]) throw MeetTimeError.client("NETWORK_ERROR", `unexpected wsUrl in the join answer: ${wsUrl}`);
  return decodeURIComponent(match[1]);
}
