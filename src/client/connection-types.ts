/**
 * The public types of `MeetingConnection`: the WebSocket it needs, its
 * states and close reasons, its events and its options.
 */
import type { MeetTimeError } from "./errors.js";
import type { BackoffOptions } from "./timing.js";
import type { IceServer, IceServersInfo, ServerEventMap } from "./types.js";

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
  /**
   * A failure nobody awaits: an `error` frame for a frame sent without a
   * promise, a failed renewal, or a dropped server frame that does not fit the
   * contract (`MALFORMED_FRAME`, `details: { type, where }`).
   */
  error: MeetTimeError;
};

export interface MeetingConnectionOptions {
  /** Resume the chat after this `seq` (the last one seen): the join replays every later message. */
  since?: number;
  /** ICE servers of the create or join answer; with `iceServersExpiresAt` they are refreshed before they expire. */
  iceServers?: IceServer[];
  iceServersExpiresAt?: string;
  backoff?: BackoffOptions;
  /**
   * Failed reconnect attempts in a row before giving up [Infinity]. A socket
   * that drops within `stableAfterMs` of its `meeting:joined` counts as failed.
   */
  maxReconnectAttempts?: number;
  /** An attempt that has not brought `meeting:joined` this long is dropped and retried [15 s]. */
  connectTimeoutMs?: number;
  /**
   * A joined socket that stays up this long starts the backoff over [5 s]: one
   * dropped sooner (a server that accepts and drops at once) keeps backing off.
   */
  stableAfterMs?: number;
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
