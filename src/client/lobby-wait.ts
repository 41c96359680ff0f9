/**
 * A guest's wait in a meeting's lobby (contract 1.2): the socket its wait
 * token opens, kept up (pings, reconnects with backoff: the server keeps the
 * place 60 s after a drop) until a host answers. Admitted, it resolves with
 * the same answer as an invite's join (the meeting read with the new session
 * token); denied, or when the wait ends otherwise, it rejects with a
 * `MeetTimeError`. A wait can be resumed from its ticket (after a reload).
 */
import { CLOSE } from "../protocol/close-codes.js";
import type { WebSocketLike } from "./connection-types.js";
import { MeetTimeError } from "./errors.js";
import type { MeetTime } from "./meettime.js";
import { type BackoffOptions, backoffDelay, tokenClaims } from "./timing.js";
import type { JoinResult, ServerEventMap } from "./types.js";
import { decodeFrame, letGo, NORMAL_CLOSURE, OPEN } from "./wire.js";

/** What a waiting guest keeps to resume the wait (sessionStorage across a reload, say). */
export interface LobbyTicket {
  meetingId: string;
  requestId: string;
  waitToken: string;
}

export interface LobbyWaitOptions {
  /** Stops waiting: the promise rejects with `CLOSED` (the server keeps the place 60 s, then lets it go). */
  signal?: AbortSignal;
  backoff?: BackoffOptions;
  /** Text `ping` interval [20 s, the contract's]. */
  pingIntervalMs?: number;
  /** An attempt that has not brought `lobby:waiting` (or an answer) this long is dropped and retried [15 s]. */
  connectTimeoutMs?: number;
  /** Refused attempts in a row, while the wait token is still valid, before the wait counts as over [3]. */
  maxRefusals?: number;
}

const noop = () => {};

/** The HTTP statuses of `GET` the meeting that end a wait: the token is refused, or the meeting is gone. */
const FINAL_STATUSES = new Set([401, 404, 410]);

/**
 * Waits in the lobby of `ticket.meetingId` until a host answers.
 * @example
 * const joined = await waitInLobby(mt, { meetingId, requestId, waitToken });
 * const conn = mt.connect(joined.meeting.id, joined.sessionToken);
 */
export function waitInLobby(
  client: MeetTime,
  ticket: LobbyTicket,
  options: LobbyWaitOptions = {},
): Promise<JoinResult> {
  return new Promise((resolve, reject) => new LobbyWait(client, ticket, options, resolve, reject).start());
}

class LobbyWait {
  #ws: WebSocketLike | undefined;
  #settled = false;
  #attempt = 0;
  #refusals = 0;
  /** Whether the current socket heard from the server (a refused upgrade hears nothing). */
  #heard = false;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #pingTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly client: MeetTime,
    readonly ticket: LobbyTicket,
    readonly options: LobbyWaitOptions,
    readonly resolve: (joined: JoinResult) => void,
    readonly reject: (error: Error) => void,
  ) {}

  start(): void {
    const { signal } = this.options;
    if (!this.client.WebSocket) {
      this.#fail(new TypeError("MeetTime: no WebSocket here; pass one (e.g. the ws package) to new MeetTime"));
      return;
    }
    if (signal?.aborted) {
      this.#stopped();
      return;
    }
    signal?.addEventListener("abort", this.#stopped);
    this.#open();
  }

  readonly #stopped = () => this.#fail(MeetTimeError.client("CLOSED", "stopped waiting in the lobby"));

  #open(): void {
    if (this.#settled) return;
    const WebSocketImpl = this.client.WebSocket!;
    const url = new URL(this.client.url(`/api/meetings/${encodeURIComponent(this.ticket.meetingId)}/ws`));
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this.#heard = false;
    let ws: WebSocketLike;
    try {
      // As the connection does: the token as a subprotocol, never in a URL that ends up in logs.
      ws = new WebSocketImpl(url.toString(), ["meettime", this.ticket.waitToken]);
    } catch {
      this.#dropped();
      return;
    }
    this.#ws = ws;
    const connectTimer = this.#after(this.options.connectTimeoutMs ?? 15_000, () => {
      if (ws === this.#ws && !this.#heard) this.#dropped();
    });
    ws.onerror = noop;
    ws.onopen = () => {
      if (ws !== this.#ws) return;
      const pingIntervalMs = this.options.pingIntervalMs ?? 20_000;
      this.#pingTimer = setInterval(() => ws.readyState === OPEN && ws.send("ping"), pingIntervalMs);
    };
    ws.onmessage = (event: { data: unknown }) => {
      if (ws !== this.#ws) return;
      clearTimeout(connectTimer);
      try {
        this.#received(event.data);
      } catch (error) {
        this.#fail(MeetTimeError.client("MALFORMED_FRAME", `handling a lobby frame threw: ${error}`, error));
      }
    };
    ws.onclose = (event: { code: number }) => {
      if (ws === this.#ws) this.#closed(event.code);
    };
  }

  #received(raw: unknown): void {
    const frame = decodeFrame(raw);
    if (frame?.kind !== "event") return;
    const { event } = frame;
    switch (event.type) {
      case "lobby:waiting":
        // The backoff is not started over: a server that accepts and drops at once is not retried in a tight loop
        // (it is capped at `backoff.maxMs`, well inside the 60 s the server keeps the place).
        this.#heard = true;
        this.#refusals = 0;
        return;
      case "lobby:admitted":
        this.#heard = true;
        void this.#admitted(event.data);
        return;
      case "lobby:denied":
        this.#heard = true;
        this.#fail(denied(event.data.reason));
        return;
      default:
      // A lobby socket gets nothing else; a newer server's extra events are ignored.
    }
  }

  #closed(code: number): void {
    if (this.#settled) return;
    // Denied without the frame arriving (it always comes first; a proxy may eat it).
    if (code === CLOSE.KICKED) this.#fail(denied(""));
    else if (code === CLOSE.TERMINATED) this.#fail(new MeetTimeError("MEETING_ENDED", "the meeting has ended", 410));
    else if (code === CLOSE.REPLACED) this.#fail(waitEnded("replaced", "the wait continues in another tab or window"));
    else this.#dropped();
  }

  /** The socket is gone without an answer: retry with backoff; a refused attempt first asks REST why. */
  #dropped(): void {
    const refused = !this.#heard;
    this.#abandonSocket();
    if (this.#settled) return;
    const expiresAtMs = tokenClaims(this.ticket.waitToken).expiresAtMs;
    if (expiresAtMs !== undefined && expiresAtMs <= Date.now()) {
      this.#fail(waitEnded("expired", "the wait token expired before a host answered"));
      return;
    }
    const retry = () => this.#after(backoffDelay(++this.#attempt, this.options.backoff), () => this.#open());
    if (!refused) {
      retry();
      return;
    }
    // A browser cannot read why an upgrade was refused. `GET` with the wait token tells 401 (expired or
    // unknown) and 404 (meeting gone); a valid wait token is always 403 there, which says nothing about the wait.
    this.client.getMeeting(this.ticket.meetingId, this.ticket.waitToken).then(
      () => retry(),
      (error: unknown) => {
        if (this.#settled) return;
        const status = error instanceof MeetTimeError ? error.status : 0;
        if (status === 401) this.#fail(waitEnded("expired", "the server no longer takes this wait token"));
        else if (FINAL_STATUSES.has(status)) this.#fail(error as MeetTimeError);
        else if (status === 403 && ++this.#refusals >= (this.options.maxRefusals ?? 3))
          this.#fail(waitEnded("refused", "the lobby no longer holds this request"));
        else retry();
      },
    );
  }

  async #admitted(data: ServerEventMap["lobby:admitted"]): Promise<void> {
    // The seat is taken: nothing after this may lose the session token, so only a final refusal rejects.
    this.#abandonSocket();
    const { meetingId } = this.ticket;
    for (let attempt = 1; !this.#settled; attempt++) {
      try {
        const { meeting } = await this.client.getMeeting(meetingId, data.sessionToken);
        if (this.#settled) return;
        this.#settle();
        this.resolve({ ...data, meeting, wsUrl: `/api/meetings/${meetingId}/ws` });
        return;
      } catch (error) {
        const status = error instanceof MeetTimeError ? error.status : 0;
        if (status >= 400 && status !== 429 && status !== 503) {
          this.#fail(error as MeetTimeError);
          return;
        }
        await new Promise((done) => this.#after(backoffDelay(attempt, this.options.backoff), () => done(undefined)));
      }
    }
  }

  #after(delayMs: number, callback: () => void): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      callback();
    }, delayMs);
    this.#timers.add(timer);
    return timer;
  }

  #stopTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    clearInterval(this.#pingTimer);
  }

  #abandonSocket(): void {
    const ws = this.#ws;
    this.#ws = undefined;
    clearInterval(this.#pingTimer);
    if (ws) letGo(ws, NORMAL_CLOSURE);
  }

  #fail(error: Error): void {
    if (this.#settled) return;
    this.#settle();
    this.reject(error);
  }

  #settle(): void {
    this.#settled = true;
    this.#abandonSocket();
    this.#stopTimers();
    this.options.signal?.removeEventListener("abort", this.#stopped);
  }
}

function denied(reason: string): MeetTimeError {
  const message = reason ? `the host did not let you in: ${reason}` : "the host did not let you in";
  return new MeetTimeError("LOBBY_DENIED", message, 0, { reason });
}

function waitEnded(why: "expired" | "refused" | "replaced", message: string): MeetTimeError {
  return new MeetTimeError("LOBBY_WAIT_ENDED", message, 0, { why });
}
