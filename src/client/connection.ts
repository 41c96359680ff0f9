/**
 * `MeetingConnection`: one participant's live link to a meeting. It owns the
 * WebSocket (token as subprotocol, pings, reconnects with backoff and
 * `since` resume) and composes the rest: live views of the meeting, its
 * participants, its chat and the lobby (meeting-views.ts), a promise for each sent
 * frame (outbox.ts), a fresh token and ICE servers (credentials.ts). Its
 * `state` events say what happened, in the end why it closed for good.
 */
import type {
  CloseReason,
  ConnectionEvents,
  ConnectionState,
  MeetingConnectionOptions,
  StateChange,
  WebSocketConstructor,
  WebSocketLike,
} from "./connection-types.js";
import { Credentials } from "./credentials.js";
import { Emitter } from "./emitter.js";
import { MeetTimeError } from "./errors.js";
import { MeetingViews } from "./meeting-views.js";
import type { MeetTime } from "./meettime.js";
import { Outbox } from "./outbox.js";
import { backoffDelay, isoDateTime } from "./timing.js";
import type {
  ChatMessageData,
  ClientFrameMap,
  ClientFrameType,
  IceServer,
  IceServersInfo,
  LobbyEntryData,
  MediaData,
  MeetingData,
  ParticipantData,
  ParticipantStateData,
  RescheduleInput,
  ServerEventData,
  ServerEventMap,
} from "./types.js";
import { CLOSE_REASONS, decodeFrame, letGo, NORMAL_CLOSURE, OPEN, whyRefused } from "./wire.js";

/** The connection's types are part of its module: `import type { StateChange } from "./connection.js"`. */
export type * from "./connection-types.js";

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
  #ws: WebSocketLike | undefined;
  #joinedOnSocket = false;
  #attempt = 0;
  readonly #views: MeetingViews;
  readonly #outbox: Outbox;
  readonly #credentials: Credentials;
  readonly #options: Required<
    Pick<
      MeetingConnectionOptions,
      "backoff" | "maxReconnectAttempts" | "pingIntervalMs" | "silenceTimeoutMs" | "connectTimeoutMs" | "stableAfterMs"
    >
  >;
  readonly #WebSocket: WebSocketConstructor;
  #lastHeard = 0;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Gives up on a socket that has not brought `meeting:joined` in `connectTimeoutMs`. */
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Starts the backoff over once a joined socket has stayed up `stableAfterMs`. */
  #stableTimer: ReturnType<typeof setTimeout> | undefined;
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
    const pingIntervalMs = options.pingIntervalMs ?? 20_000;
    this.#options = {
      backoff: options.backoff ?? {},
      maxReconnectAttempts: options.maxReconnectAttempts ?? Number.POSITIVE_INFINITY,
      pingIntervalMs,
      silenceTimeoutMs: options.silenceTimeoutMs ?? pingIntervalMs * 2.5,
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      stableAfterMs: options.stableAfterMs ?? 5_000,
    };
    this.#outbox = new Outbox({ queueLimit: options.queueLimit ?? 100, ackTimeoutMs: options.ackTimeoutMs ?? 30_000 });
    this.#views = new MeetingViews(options.since);
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(noop); // awaited or not, a failed start must not be an unhandled rejection
    this.#credentials = new Credentials({
      client,
      meetingId,
      token,
      iceServers: options.iceServers,
      iceServersExpiresAt: options.iceServersExpiresAt,
      renewToken: options.renewToken ?? true,
      renewBeforeMs: options.renewBeforeMs ?? 5 * 60_000,
      emit: (type, data) => this.emit(type, data),
    });
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
    return this.#credentials.token;
  }
  /** The meeting as of the last event; undefined until the first `meeting:joined`. */
  get meeting(): MeetingData | undefined {
    return this.#views.meeting;
  }
  /** This participant, from `meeting:joined`. */
  get self(): ParticipantData | undefined {
    return this.#views.self;
  }
  /** Everyone listed, the host first, with `connected` and media state kept live. */
  get participants(): readonly ParticipantData[] {
    return this.#views.participants;
  }
  /** Every chat message seen, each once, in `seq` order. */
  get chat(): readonly ChatMessageData[] {
    return this.#views.chat;
  }
  /**
   * Host: who waits in the lobby (contract 1.2), first knock first; kept from
   * `meeting:joined`'s `lobby`, `lobby:knock` and `lobby:left`. Empty for guests.
   */
  get lobby(): readonly LobbyEntryData[] {
    return this.#views.lobby;
  }
  /**
   * The meeting's media (contract 1.2): `mode`, and for `sfu` each
   * participant's published tracks, kept from `meeting:joined` and `media:tracks`.
   */
  get media(): MediaData | undefined {
    return this.#views.media;
  }
  /** The highest chat `seq` seen (what a reconnect resumes from). */
  get lastSeq(): number | undefined {
    return this.#views.lastSeq;
  }
  get iceServers(): IceServer[] | undefined {
    return this.#credentials.iceServers;
  }
  get iceServersExpiresAt(): string | undefined {
    return this.#credentials.iceServersExpiresAt;
  }
  /** Frames waiting for the connection to come back. */
  get queuedFrames(): number {
    return this.#outbox.queued;
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
      this.#outbox.submit(this.#outbox.create(type, data, resolve, reject), this.#ws, this.#state);
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
    return this.send("meeting:datetime:update", { ...update, scheduledAt: isoDateTime(update.scheduledAt) });
  }
  /** Host: `host:kick-participant`. */
  kick(participantId: string, reason?: string): Promise<void> {
    return this.send("host:kick-participant", reason === undefined ? { participantId } : { participantId, reason });
  }
  /** Host: `lobby:admit`; resolves once the guest is a participant, `NOT_FOUND` if the request is gone, `MEETING_FULL`. */
  admit(requestId: string): Promise<void> {
    return this.send("lobby:admit", { requestId });
  }
  /** Host: `lobby:deny`; the guest reads `reason`. `NOT_FOUND` if the request is gone. */
  deny(requestId: string, reason?: string): Promise<void> {
    return this.send("lobby:deny", reason === undefined ? { requestId } : { requestId, reason });
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

  /** Renews the token now (session: `POST /session-token`; host: `POST /host-token`); reconnects use the new one. */
  renewToken(): Promise<string> {
    return this.#credentials.renewToken();
  }

  /** Fetches fresh ICE servers (`GET /ice-servers`), emits `ice-servers` and schedules the next refresh. */
  refreshIceServers(): Promise<IceServersInfo> {
    return this.#credentials.refreshIceServers();
  }

  // ------------------------------------------------------------ the socket

  #open(): void {
    const url = new URL(`/api/meetings/${encodeURIComponent(this.meetingId)}/ws`, `${this.client.baseUrl}/`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const since = this.#views.lastSeq;
    if (since !== undefined) url.searchParams.set("since", String(since));
    this.#joinedOnSocket = false;
    let ws: WebSocketLike;
    try {
      // The token travels as a subprotocol, never in the URL (URLs end up in logs).
      ws = new this.#WebSocket(url.toString(), ["meettime", this.#credentials.token]);
    } catch {
      this.#dropped(undefined);
      return;
    }
    this.#ws = ws;
    // A socket can hang in CONNECTING for minutes (a lost SYN, a stalled proxy): count it as dropped.
    this.#connectTimer = setTimeout(() => {
      if (ws === this.#ws && !this.#joinedOnSocket) this.#dropped(undefined);
    }, this.#options.connectTimeoutMs);
    ws.onerror = noop; // a close event always follows
    ws.onopen = () => {
      if (ws !== this.#ws) return;
      this.#lastHeard = Date.now();
      this.#startPings(ws);
    };
    ws.onmessage = (event: { data: unknown }) => {
      if (ws !== this.#ws) return;
      // Nothing a server sends may throw into the runtime's event loop.
      try {
        this.#received(event.data);
      } catch (error) {
        this.emit("error", MeetTimeError.client("MALFORMED_FRAME", `handling a server frame threw: ${error}`, error));
      }
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
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#stableTimer);
    if (ws) letGo(ws, code);
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
    this.#outbox.failInFlight(() =>
      MeetTimeError.client("CONNECTION_LOST", "the connection dropped before the server answered"),
    );
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
    whyRefused(this.client, this.meetingId, this.#credentials.token).then((refusal) => {
      if (this.#state === "closed") return;
      if (refusal) this.#finish(refusal.reason, code, refusal.error);
      else retry();
    });
  }

  #received(raw: unknown): void {
    this.#lastHeard = Date.now();
    const frame = decodeFrame(raw);
    if (!frame) return;
    switch (frame.kind) {
      case "event":
        this.#handle(frame.event);
        return;
      case "malformed": {
        const what = frame.type === undefined ? "a server frame" : `a "${frame.type}" event`;
        const message = `dropped ${what} that does not fit the contract (${frame.where})`;
        this.emit("error", new MeetTimeError("MALFORMED_FRAME", message, 0, { type: frame.type, where: frame.where }));
        return;
      }
      default: {
        const unclaimed = this.#outbox.answered(frame.id, frame.kind === "error" ? frame.error : undefined);
        if (unclaimed) this.emit("error", unclaimed);
      }
    }
  }

  // ------------------------------------------------------------ events

  #handle(event: ServerEventData): void {
    const update = this.#views.apply(event);
    switch (update.kind) {
      case "duplicate":
        return;
      case "joined":
        this.#joined(update.data, update.firstJoin, update.missed);
        return;
      case "final":
        this.emit(event.type, event.data as never);
        this.#finish(update.reason);
        return;
      case "event":
        this.emit(event.type, event.data as never);
    }
  }

  #joined(data: ServerEventMap["meeting:joined"], firstJoin: boolean, missed: ChatMessageData[]): void {
    this.#joinedOnSocket = true;
    clearTimeout(this.#connectTimer);
    // Not at once: a server that accepts and drops at once would otherwise be retried in a tight loop.
    clearTimeout(this.#stableTimer);
    this.#stableTimer = setTimeout(() => {
      this.#attempt = 0;
    }, this.#options.stableAfterMs);
    this.emit("meeting:joined", data);
    for (const message of missed) this.emit("chat:new-message", message);
    this.#setState({ state: "open", resumed: !firstJoin });
    if (firstJoin) this.#resolveReady(data);
    if (this.#state === "open") this.#outbox.flush(this.#ws);
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
    this.#credentials.stop();
    const closed = () => MeetTimeError.client("CLOSED", `connection closed (${reason})`);
    this.#outbox.failAll(closed);
    this.#rejectReady(error ?? closed());
    this.#setState({ state: "closed", reason, ...(code === undefined ? {} : { code }) });
  }
}
