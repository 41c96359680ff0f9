/**
 * `MeetingConnection`: one participant's live link to a meeting. It owns the
 * WebSocket (token as subprotocol, pings, reconnects with backoff and
 * `since` resume), keeps live views of the meeting, its participants and
 * its chat from the events, answers each sent frame with a promise, and
 * keeps the token and ICE servers fresh. Its `state` events say what
 * happened, in the end why it closed for good.
 */
import { Emitter } from "./emitter";
import { MeetTimeError } from "./errors";
import type { MeetTime } from "./meettime";
import { type BackoffOptions, backoffDelay, renewalTime, runAt, tokenClaims } from "./timing";
import type {
  ChatMessageData,
  ClientFrameMap,
  ClientFrameType,
  IceServer,
  IceServersInfo,
  MeetingData,
  ParticipantData,
  ParticipantStateData,
  RescheduleInput,
  ServerEventData,
  ServerEventMap,
  ServerEventType,
} from "./types";

/** The part of a WebSocket the connection uses: the browser's `WebSocket` and the `ws` package both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/**
 * Why a connection closed for good:
 * - `closed`: `close()` was called;
 * - `left`: this participant left (`leave()`, or its socket was closed with 1000 after a leave elsewhere);
 * - `kicked` (`meeting:kicked`, 4003), `terminated` (`meeting:terminated`, 4000),
 *   `replaced` (`session:replaced`, 4009: the same participant connected elsewhere, e.g. another tab);
 * - `flooded`: closed with 4008 for too many refused frames (reconnecting would flood again);
 * - `unauthorized` / `forbidden` / `not-found` / `ended`: a reconnect was refused and `GET` of the
 *   meeting said why (token expired or invalid: 401; seat revoked: 403; meeting gone: 404; meeting ended);
 * - `gave-up`: `maxReconnectAttempts` failed attempts in a row.
 */
export type CloseReason =
  | "closed"
  | "left"
  | "kicked"
  | "terminated"
  | "replaced"
  | "flooded"
  | "unauthorized"
  | "forbidden"
  | "not-found"
  | "ended"
  | "gave-up";

export type StateChange =
  | { state: "open" /** true after a reconnect */; resumed: boolean }
  | { state: "reconnecting" /** 1 for the first retry */; attempt: number; delayMs: number; code?: number }
  | { state: "closed"; reason: CloseReason; code?: number };

/** Events of a connection: every server event of API.md by its `type`, plus the connection's own. */
export type ConnectionEvents = ServerEventMap & {
  state: StateChange;
  /** A renewed token (store it: it is the one to reconnect or reload with). */
  token: { token: string; expiresAt: string };
  /** Fresh ICE servers (their credentials expire). */
  "ice-servers": IceServersInfo;
  /** A failure nobody awaits: an `error` frame for a frame sent without a promise, or a failed renewal. */
  error: MeetTimeError;
};

export interface MeetingConnectionOptions {
  /** Resume the chat after this `seq` (the last one seen): the join replays every later message. */
  since?: number;
  /** ICE servers of the create or join answer; with `iceServersExpiresAt` they are refreshed before they expire. */
  iceServers?: IceServer[];
  iceServersExpiresAt?: string;
  backoff?: BackoffOptions;
  /** Failed reconnect attempts in a row before giving up [Infinity]. */
  maxReconnectAttempts?: number;
  /** Text `ping` interval [20 s, the contract's]. */
  pingIntervalMs?: number;
  /** A socket that heard nothing (not even `pong`) this long is treated as dead and replaced [2.5 × ping]. */
  silenceTimeoutMs?: number;
  /** Frames kept while the connection is down; more reject with `QUEUE_FULL` [100]. */
  queueLimit?: number;
  /** How long a sent frame waits for its `ack` or `error` [30 s]. */
  ackTimeoutMs?: number;
  /** Renew the token and ICE credentials this long before they expire (at the latest halfway) [5 min]. */
  renewBeforeMs?: number;
  /** Renew the token automatically [true]. */
  renewToken?: boolean;
}

interface Outgoing {
  id: string;
  frame: string;
  resolve: () => void;
  reject: (error: MeetTimeError) => void;
  timer?: ReturnType<typeof setTimeout>;
}

const CLOSE_REASONS: Record<number, CloseReason> = {
  4000: "terminated",
  4003: "kicked",
  4008: "flooded",
  4009: "replaced",
};
const REFUSAL_REASONS: Record<number, CloseReason> = { 401: "unauthorized", 403: "forbidden", 404: "not-found" };
const NORMAL_CLOSURE = 1000;
const OPEN = 1;
/**
 * Every server event type. A `Record` over the schema's union, so the compiler
 * fails here when the contract gains or loses an event.
 */
const SERVER_EVENT_TYPES: Record<ServerEventType, true> = {
  "meeting:joined": true,
  "meeting:participant-joined": true,
  "meeting:participant-left": true,
  "meeting:datetime:changed": true,
  "chat:new-message": true,
  "participant:updated": true,
  "meeting:kicked": true,
  "meeting:terminated": true,
  "session:replaced": true,
  "webrtc:offer": true,
  "webrtc:answer": true,
  "webrtc:ice-candidate": true,
};
const RENEWAL_RETRY_MS = 30_000;
const noop = () => {};

/**
 * @example
 * const conn = mt.connect(meetingId, sessionToken);
 * conn.on("chat:new-message", (message) => render(message));
 * conn.on("state", (change) => change.state === "closed" && showWhy(change.reason));
 * await conn.sendChat("hi"); // rejects with a MeetTimeError (code RATE_LIMITED, …)
 */
export class MeetingConnection extends Emitter<ConnectionEvents> {
  #state: ConnectionState = "connecting";
  #closeReason: CloseReason | undefined;
  #token: string;
  #ws: WebSocketLike | undefined;
  #joinedOnSocket = false;
  #joinedOnce = false;
  #lastSeq: number | undefined;
  #attempt = 0;
  #meeting: MeetingData | undefined;
  #self: ParticipantData | undefined;
  #chat: ChatMessageData[] = [];
  #iceServers: IceServer[] | undefined;
  #iceServersExpiresAt: string | undefined;
  #nextId = 0;
  readonly #inFlight = new Map<string, Outgoing>();
  readonly #queue: Outgoing[] = [];
  readonly #options: Required<Omit<MeetingConnectionOptions, "since" | "iceServers" | "iceServersExpiresAt">>;
  readonly #WebSocket: WebSocketConstructor;
  #lastHeard = 0;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #cancelTokenRenewal = noop;
  #cancelIceRefresh = noop;
  #resolveReady: (joined: ServerEventMap["meeting:joined"]) => void = noop;
  #rejectReady: (error: MeetTimeError) => void = noop;

  /**
   * Resolves with the first `meeting:joined`; rejects if the connection closes
   * for good before it: with the refusal's REST error (`UNAUTHORIZED`,
   * `FORBIDDEN`, `NOT_FOUND`, `MEETING_ENDED`) or else `CLOSED`.
   */
  readonly ready: Promise<ServerEventMap["meeting:joined"]>;

  constructor(
    readonly client: MeetTime,
    readonly meetingId: string,
    token: string,
    options: MeetingConnectionOptions = {},
  ) {
    super();
    const WebSocketImpl = client.WebSocket;
    if (!WebSocketImpl)
      throw new TypeError("MeetTime: no WebSocket here; pass one (e.g. the ws package) to new MeetTime");
    this.#WebSocket = WebSocketImpl;
    this.#token = token;
    const pingIntervalMs = options.pingIntervalMs ?? 20_000;
    this.#options = {
      backoff: options.backoff ?? {},
      maxReconnectAttempts: options.maxReconnectAttempts ?? Number.POSITIVE_INFINITY,
      pingIntervalMs,
      silenceTimeoutMs: options.silenceTimeoutMs ?? pingIntervalMs * 2.5,
      queueLimit: options.queueLimit ?? 100,
      ackTimeoutMs: options.ackTimeoutMs ?? 30_000,
      renewBeforeMs: options.renewBeforeMs ?? 5 * 60_000,
      renewToken: options.renewToken ?? true,
    };
    if (options.since !== undefined) {
      if (!Number.isSafeInteger(options.since) || options.since < 0)
        throw new TypeError("since: a non-negative integer");
      this.#lastSeq = options.since;
    }
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(noop); // awaited or not, a failed start must not be an unhandled rejection
    if (options.iceServers) this.#setIceServers(options.iceServers, options.iceServersExpiresAt);
    this.#scheduleTokenRenewal();
    this.#open();
  }

  get state(): ConnectionState {
    return this.#state;
  }
  /** Why the connection closed for good; undefined until then. */
  get closeReason(): CloseReason | undefined {
    return this.#closeReason;
  }
  /** The current token (renewals replace it): the one to reconnect with after a reload. */
  get token(): string {
    return this.#token;
  }
  /** The meeting as of the last event; undefined until the first `meeting:joined`. */
  get meeting(): MeetingData | undefined {
    return this.#meeting;
  }
  /** This participant, from `meeting:joined`. */
  get self(): ParticipantData | undefined {
    return this.#self;
  }
  /** Everyone listed, the host first, with `connected` and media state kept live. */
  get participants(): readonly ParticipantData[] {
    return this.#meeting?.participants ?? [];
  }
  /** Every chat message seen, each once, in `seq` order. */
  get chat(): readonly ChatMessageData[] {
    return this.#chat;
  }
  /** The highest chat `seq` seen (what a reconnect resumes from). */
  get lastSeq(): number | undefined {
    return this.#lastSeq;
  }
  get iceServers(): IceServer[] | undefined {
    return this.#iceServers;
  }
  get iceServersExpiresAt(): string | undefined {
    return this.#iceServersExpiresAt;
  }
  /** Frames waiting for the connection to come back. */
  get queuedFrames(): number {
    return this.#queue.length;
  }

  // ------------------------------------------------------------ sending

  /**
   * Sends one client frame of API.md; resolves on its `ack`, rejects with the
   * server's error (`MeetTimeError`: code, message, status). While the
   * connection is down the frame is queued (up to `queueLimit`, else
   * `QUEUE_FULL`) and sent once it is back; a frame on a socket that dropped
   * before its answer rejects with `CONNECTION_LOST` (it may have been applied:
   * not resent, so a chat message never appears twice); after the final
   * close, `CLOSED`.
   */
  send<T extends ClientFrameType>(type: T, data: ClientFrameMap[T]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#state === "closed") {
        reject(MeetTimeError.client("CLOSED", `connection closed (${this.#closeReason})`));
        return;
      }
      const id = `c${++this.#nextId}`;
      const outgoing: Outgoing = { id, frame: JSON.stringify({ type, data, id }), resolve, reject };
      if (this.#state === "open") {
        this.#transmit(outgoing);
      } else if (this.#queue.length >= this.#options.queueLimit) {
        reject(
          MeetTimeError.client("QUEUE_FULL", `connection is ${this.#state} and ${this.#queue.length} frames wait`),
        );
      } else {
        this.#queue.push(outgoing);
      }
    });
  }

  sendChat(text: string): Promise<void> {
    return this.send("chat:message", { text });
  }
  /** `participant:update`: any of audio, video, screen, handRaised. */
  updateState(state: Partial<ParticipantStateData>): Promise<void> {
    return this.send("participant:update", state);
  }
  sendOffer(to: string, sdp: string): Promise<void> {
    return this.send("webrtc:offer", { to, sdp });
  }
  sendAnswer(to: string, sdp: string): Promise<void> {
    return this.send("webrtc:answer", { to, sdp });
  }
  sendIceCandidate(to: string, candidate: ClientFrameMap["webrtc:ice-candidate"]["candidate"]): Promise<void> {
    return this.send("webrtc:ice-candidate", { to, candidate });
  }
  /** Host: `meeting:datetime:update`; a stale `expectedVersion` rejects with `VERSION_CONFLICT`. */
  reschedule(update: RescheduleInput): Promise<void> {
    const { scheduledAt, ...rest } = update;
    const at = scheduledAt instanceof Date ? scheduledAt.toISOString() : scheduledAt;
    return this.send("meeting:datetime:update", at === undefined ? rest : { ...rest, scheduledAt: at });
  }
  /** Host: `host:kick-participant`. */
  kick(participantId: string, reason?: string): Promise<void> {
    return this.send("host:kick-participant", reason === undefined ? { participantId } : { participantId, reason });
  }
  /** Leaves the meeting (a guest's seat is given up for good); the connection then closes with reason `left`. */
  async leave(): Promise<void> {
    try {
      await this.send("meeting:leave", {});
    } catch (error) {
      // The server may close the socket (1000, so reason `left`) before its ack arrives.
      if (this.#closeReason === "left") return;
      throw error;
    }
    this.#finish("left");
  }

  /** Closes for good without leaving: the seat stays, others see a disconnect. Final state reason `closed`. */
  close(): void {
    this.#finish("closed");
  }

  // ------------------------------------------------------------ token and ICE servers

  /** Renews the token now (session: `POST /session-token`; host: `POST /host-token`); reconnects use the new one. */
  async renewToken(): Promise<string> {
    const { kind, expiresAtMs: before } = tokenClaims(this.#token);
    const renewed =
      kind === "host"
        ? await this.client.mintHostToken(this.meetingId, this.#token).then((r) => ({ token: r.hostToken, ...r }))
        : await this.client.renewSession(this.meetingId, this.#token).then((r) => ({ token: r.sessionToken, ...r }));
    if (this.#state === "closed") return renewed.token;
    this.#token = renewed.token;
    this.emit("token", { token: renewed.token, expiresAt: renewed.expiresAt });
    // A token capped at the meeting's expiry cannot get longer: renewing it again would only loop.
    const after = tokenClaims(renewed.token).expiresAtMs;
    if (before === undefined || after === undefined || after > before) this.#scheduleTokenRenewal();
    // ICE credentials are capped at the token's expiry: ones capped by the old token can now last longer.
    const iceExpiry = Date.parse(this.#iceServersExpiresAt ?? "");
    if (before !== undefined && iceExpiry <= before + 1_000) {
      this.refreshIceServers().catch((error) => this.#renewalFailed(error, iceExpiry, noop));
    }
    return renewed.token;
  }

  /** Fetches fresh ICE servers (`GET /ice-servers`), emits `ice-servers` and schedules the next refresh. */
  async refreshIceServers(): Promise<IceServersInfo> {
    const fresh = await this.client.iceServers(this.meetingId, this.#token);
    const info = { iceServers: fresh.iceServers, iceServersExpiresAt: fresh.expiresAt };
    if (this.#state !== "closed") {
      // Credentials capped at the token's expiry cannot get longer: refreshing them again would only loop.
      const later =
        this.#iceServersExpiresAt === undefined || Date.parse(fresh.expiresAt) > Date.parse(this.#iceServersExpiresAt);
      this.#setIceServers(fresh.iceServers, fresh.expiresAt, later);
      this.emit("ice-servers", info);
    }
    return info;
  }

  #scheduleTokenRenewal(): void {
    this.#cancelTokenRenewal();
    const { kind, expiresAtMs } = tokenClaims(this.#token);
    if (!this.#options.renewToken || expiresAtMs === undefined || (kind !== "session" && kind !== "host")) return;
    this.#cancelTokenRenewal = runAt(renewalTime(expiresAtMs, Date.now(), this.#options.renewBeforeMs), () => {
      this.renewToken().catch((error) => {
        this.#cancelTokenRenewal = this.#renewalFailed(error, expiresAtMs, () => this.#scheduleTokenRenewal());
      });
    });
  }

  #setIceServers(iceServers: IceServer[], expiresAt: string | undefined, scheduleRefresh = true): void {
    this.#iceServers = iceServers;
    this.#iceServersExpiresAt = expiresAt;
    this.#cancelIceRefresh();
    this.#cancelIceRefresh = noop;
    const expiresAtMs = expiresAt === undefined ? Number.NaN : Date.parse(expiresAt);
    if (!scheduleRefresh || Number.isNaN(expiresAtMs) || this.#iceFollowsToken(expiresAtMs)) return;
    this.#cancelIceRefresh = runAt(renewalTime(expiresAtMs, Date.now(), this.#options.renewBeforeMs), () => {
      this.refreshIceServers().catch((error) => {
        this.#cancelIceRefresh = this.#renewalFailed(error, expiresAtMs, () =>
          this.#setIceServers(iceServers, expiresAt),
        );
      });
    });
  }

  /** Credentials capped at the token's expiry are refreshed by the token's renewal, not on their own. */
  #iceFollowsToken(iceExpiresAtMs: number): boolean {
    const { kind, expiresAtMs } = tokenClaims(this.#token);
    const renewable = this.#options.renewToken && (kind === "session" || kind === "host");
    return renewable && expiresAtMs !== undefined && iceExpiresAtMs <= expiresAtMs + 1_000;
  }

  /**
   * A failed renewal is reported and tried again in 30 s while the old
   * credentials last, unless the seat or meeting is gone; returns the retry's cancel.
   */
  #renewalFailed(error: unknown, expiresAtMs: number, retry: () => void): () => void {
    const failure =
      error instanceof MeetTimeError ? error : MeetTimeError.client("NETWORK_ERROR", String(error), error);
    this.emit("error", failure);
    const final = [401, 403, 404, 410].includes(failure.status);
    if (this.#state === "closed" || final || Date.now() + RENEWAL_RETRY_MS >= expiresAtMs) return noop;
    const timer = setTimeout(retry, RENEWAL_RETRY_MS);
    return () => clearTimeout(timer);
  }

  // ------------------------------------------------------------ the socket

  #open(): void {
    const url = new URL(`/api/meetings/${encodeURIComponent(this.meetingId)}/ws`, `${this.client.baseUrl}/`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (this.#lastSeq !== undefined) url.searchParams.set("since", String(this.#lastSeq));
    this.#joinedOnSocket = false;
    let ws: WebSocketLike;
    try {
      // The token travels as a subprotocol, never in the URL (URLs end up in logs).
      ws = new this.#WebSocket(url.toString(), ["meettime", this.#token]);
    } catch {
      this.#dropped(undefined);
      return;
    }
    this.#ws = ws;
    ws.onerror = noop; // a close event always follows
    ws.onopen = () => {
      if (ws !== this.#ws) return;
      this.#lastHeard = Date.now();
      this.#startPings(ws);
    };
    ws.onmessage = (event: { data: unknown }) => {
      if (ws === this.#ws) this.#received(event.data);
    };
    ws.onclose = (event: { code: number }) => {
      if (ws === this.#ws) this.#socketClosed(event.code);
    };
  }

  #startPings(ws: WebSocketLike): void {
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => {
      if (ws !== this.#ws) return;
      // A dead link (a laptop lid, a lost Wi-Fi) sends no close: silence is how it shows.
      if (Date.now() - this.#lastHeard > this.#options.silenceTimeoutMs) this.#dropped(undefined);
      else if (ws.readyState === OPEN) ws.send("ping");
    }, this.#options.pingIntervalMs);
  }

  /** Forgets the current socket: its events are ignored from now on, and it is closed if still up. */
  #abandonSocket(code: number): void {
    const ws = this.#ws;
    this.#ws = undefined;
    clearInterval(this.#pingTimer);
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = noop;
    try {
      ws.close(code);
    } catch {
      // already closing or closed
    }
  }

  #socketClosed(code: number): void {
    const terminal = CLOSE_REASONS[code];
    if (terminal) this.#finish(terminal, code);
    // The server closes with 1000 only after a leave: this one, or the same seat's leave by REST.
    else if (code === NORMAL_CLOSURE) this.#finish("left", code);
    else this.#dropped(code);
  }

  /** The socket is gone without a final word: retry with backoff; a refused attempt first asks REST why. */
  #dropped(code: number | undefined): void {
    const refused = !this.#joinedOnSocket;
    this.#abandonSocket(NORMAL_CLOSURE);
    for (const outgoing of this.#inFlight.values()) {
      clearTimeout(outgoing.timer);
      outgoing.reject(MeetTimeError.client("CONNECTION_LOST", "the connection dropped before the server answered"));
    }
    this.#inFlight.clear();
    const attempt = ++this.#attempt;
    if (attempt > this.#options.maxReconnectAttempts) {
      this.#finish("gave-up", code);
      return;
    }
    const delayMs = backoffDelay(attempt, this.#options.backoff);
    this.#setState({ state: "reconnecting", attempt, delayMs, ...(code === undefined ? {} : { code }) });
    const retry = () => {
      this.#reconnectTimer = setTimeout(() => {
        if (this.#state !== "closed") this.#open();
      }, delayMs);
    };
    if (!refused) {
      retry();
      return;
    }
    // A browser cannot read the status of a refused upgrade; GET of the meeting tells the same story.
    this.#whyRefused().then((refusal) => {
      if (this.#state === "closed") return;
      if (refusal) this.#finish(refusal.reason, code, refusal.error);
      else retry();
    });
  }

  /** The final reason of a refused upgrade, with the REST error that tells it; undefined while it may pass. */
  async #whyRefused(): Promise<{ reason: CloseReason; error: MeetTimeError } | undefined> {
    try {
      const { meeting } = await this.client.getMeeting(this.meetingId, this.#token);
      if (meeting.status !== "ended") return undefined;
      return { reason: "ended", error: new MeetTimeError("MEETING_ENDED", "the meeting has ended", 410) };
    } catch (error) {
      // Network errors, 429 and 503 are passing: keep trying.
      const reason = error instanceof MeetTimeError ? REFUSAL_REASONS[error.status] : undefined;
      return reason && { reason, error: error as MeetTimeError };
    }
  }

  #received(raw: unknown): void {
    this.#lastHeard = Date.now();
    if (typeof raw !== "string" || raw === "pong") return;
    let json: any;
    try {
      json = JSON.parse(raw);
    } catch {
      return; // the server sends JSON only
    }
    if (json?.type === "ack" || json?.type === "error") {
      this.#answered(json);
      return;
    }
    // Events are checked at the envelope only: the zod schemas would add ~100 KB (gzip) to every
    // browser bundle, and the server builds its frames from the same types. Unknown types (a newer
    // server's) are ignored, as the contract lets clients.
    if (typeof json?.type === "string" && Object.hasOwn(SERVER_EVENT_TYPES, json.type) && isObject(json.data)) {
      this.#handle(json as ServerEventData);
    }
  }

  #answered(frame: { type: "ack" | "error"; id?: unknown; error?: unknown }): void {
    const outgoing = typeof frame.id === "string" ? this.#inFlight.get(frame.id) : undefined;
    if (outgoing) {
      this.#inFlight.delete(outgoing.id);
      clearTimeout(outgoing.timer);
    }
    if (frame.type === "ack") {
      outgoing?.resolve();
      return;
    }
    const body = isObject(frame.error) ? frame.error : {};
    const error = MeetTimeError.fromFrame({
      code: typeof body.code === "string" ? body.code : "INTERNAL",
      message: typeof body.message === "string" ? body.message : "malformed error frame",
      ...(isObject(body.details) ? { details: body.details } : {}),
    });
    if (outgoing) outgoing.reject(error);
    else this.emit("error", error);
  }

  #transmit(outgoing: Outgoing): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== OPEN) {
      this.#queue.unshift(outgoing);
      return;
    }
    this.#inFlight.set(outgoing.id, outgoing);
    outgoing.timer = setTimeout(() => {
      if (this.#inFlight.delete(outgoing.id))
        outgoing.reject(MeetTimeError.client("TIMEOUT", "no answer from the server"));
    }, this.#options.ackTimeoutMs);
    ws.send(outgoing.frame);
  }

  // ------------------------------------------------------------ events and views

  #handle(event: ServerEventData): void {
    switch (event.type) {
      case "meeting:joined":
        this.#joined(event.data);
        return;
      case "chat:new-message":
        // A replay after a reconnect can repeat what arrived live just before the drop.
        if (this.#lastSeq !== undefined && event.data.seq <= this.#lastSeq) return;
        this.#chat.push(event.data);
        this.#lastSeq = event.data.seq;
        break;
      case "meeting:participant-joined":
        this.#updateParticipants((list) => [
          ...list.filter((p) => p.id !== event.data.participant.id),
          event.data.participant,
        ]);
        break;
      case "meeting:participant-left": {
        const { participantId, reason } = event.data;
        // A dropped socket and a host's leave keep the seat; a guest's leave or a kick gives it up.
        this.#updateParticipants((list) =>
          list.flatMap((p) =>
            p.id !== participantId
              ? [p]
              : reason === "disconnected" || p.role === "host"
                ? [{ ...p, connected: false }]
                : [],
          ),
        );
        break;
      }
      case "participant:updated":
        this.#updateParticipants((list) =>
          list.map((p) => (p.id === event.data.participantId ? { ...p, state: event.data.state } : p)),
        );
        break;
      case "meeting:datetime:changed":
        this.#meeting = event.data.meeting;
        break;
      case "meeting:kicked":
      case "meeting:terminated":
      case "session:replaced":
        this.emit(event.type, event.data as never);
        this.#finish(
          event.type === "meeting:kicked" ? "kicked" : event.type === "meeting:terminated" ? "terminated" : "replaced",
        );
        return;
      case "webrtc:offer":
      case "webrtc:answer":
      case "webrtc:ice-candidate":
        break;
      default:
        assertNever(event);
    }
    this.emit(event.type, event.data as never);
  }

  #joined(data: ServerEventMap["meeting:joined"]): void {
    const firstJoin = !this.#joinedOnce;
    const since = this.#lastSeq;
    const fresh = data.chat.filter((m) => since === undefined || m.seq > since).sort((a, b) => a.seq - b.seq);
    this.#meeting = data.meeting;
    this.#self = data.self;
    this.#joinedOnSocket = true;
    this.#joinedOnce = true;
    this.#attempt = 0;
    this.#chat.push(...fresh);
    this.#lastSeq = fresh.at(-1)?.seq ?? since ?? 0;
    this.emit("meeting:joined", data);
    // After a reconnect, what was missed arrives as ordinary messages, so a listener sees each once.
    if (!firstJoin) for (const message of fresh) this.emit("chat:new-message", message);
    this.#setState({ state: "open", resumed: !firstJoin });
    if (firstJoin) this.#resolveReady(data);
    while (this.#state === "open" && this.#queue.length > 0) this.#transmit(this.#queue.shift()!);
  }

  #updateParticipants(change: (list: ParticipantData[]) => ParticipantData[]): void {
    if (!this.#meeting) return;
    const participants = change(this.#meeting.participants);
    this.#meeting = { ...this.#meeting, participants, participantCount: participants.length };
  }

  #setState(change: StateChange): void {
    this.#state = change.state;
    this.emit("state", change);
  }

  /** Closes for good; `ready` (if still pending) rejects with `error`, else with `CLOSED`. */
  #finish(reason: CloseReason, code?: number, error?: MeetTimeError): void {
    if (this.#state === "closed") return;
    this.#closeReason = reason;
    this.#state = "closed";
    this.#abandonSocket(NORMAL_CLOSURE);
    clearTimeout(this.#reconnectTimer);
    this.#cancelTokenRenewal();
    this.#cancelIceRefresh();
    const closed = () => MeetTimeError.client("CLOSED", `connection closed (${reason})`);
    for (const outgoing of [...this.#inFlight.values(), ...this.#queue.splice(0)]) {
      clearTimeout(outgoing.timer);
      outgoing.reject(closed());
    }
    this.#inFlight.clear();
    this.#rejectReady(error ?? closed());
    this.#setState({ state: "closed", reason, ...(code === undefined ? {} : { code }) });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function assertNever(value: never): never {
  throw new Error(`unhandled server event ${JSON.stringify(value)}`);
}
