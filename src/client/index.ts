/**
 * `meettime/client`: the typed SDK for MeetTime, for browsers and Node 20+.
 * Types come from the server's zod schemas (src/protocol/schemas.ts).
 *
 * - `MeetTime`: one method per REST route, each resolving to the contract's
 *   response body or rejecting with a `MeetTimeError` (`code`, `status`, `details`).
 * - `MeetingConnection` (`mt.connect`): the live meeting, with every server
 *   event typed, live views (`meeting`, `participants`, `chat`), promises for
 *   sent frames, reconnects with `since` resume, token and ICE refresh.
 * - `MeshCall`: a full-mesh WebRTC call over a connection (browsers only).
 * - Meeting links and the lobby (contract 1.2): `mt.createLink`/`listLinks`/
 *   `revokeLink`; `mt.join` waits in the lobby for a lobby link (`onWaiting`,
 *   resumable with `mt.waitInLobby(ticket)`); hosts see `conn.lobby` and answer
 *   with `conn.admit`/`conn.deny`.
 * - `SfuCall`: a call through the SFU (contract 1.2 `sfu` meetings), same surface;
 *   `createCall(conn)` returns the one the meeting's `media.mode` needs.
 *
 * @example
 * import { MeetTime } from "meettime/client";
 * import WebSocket from "ws"; // Node 20 only; browsers have one
 * const mt = new MeetTime({ baseUrl: "http://127.0.0.1:8787", WebSocket });
 * const created = await mt.createMeeting({ title: "Sync", hostName: "Ada", scheduledAt: new Date(Date.now() + 3_600_000) });
 * const { tokens } = await mt.mintInvites(created.meeting.id, created.hostToken);
 * const joined = await mt.join(tokens[0].token, "Grace");
 * const conn = mt.connect(joined.meeting.id, joined.sessionToken);
 * conn.on("chat:new-message", (m) => console.log(`${m.name}: ${m.text}`));
 * conn.on("state", (s) => s.state === "closed" && console.log("closed:", s.reason));
 * await conn.sendChat("hi");
 */

export { type Call, type CallOptions, createCall, type SharedCallEvents, sharedEvents } from "./call.js";
export {
  type CloseReason,
  type ConnectionEvents,
  type ConnectionState,
  MeetingConnection,
  type MeetingConnectionOptions,
  type StateChange,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./connection.js";
export type { Listener } from "./emitter.js";
export { CLIENT_ERROR_CODES, type ClientErrorCode, MeetTimeError, type MeetTimeErrorCode } from "./errors.js";
export { type LobbyTicket, type LobbyWaitOptions, waitInLobby } from "./lobby-wait.js";
export { type CreateMeetingOptions, type JoinOptions, MeetTime, type MeetTimeOptions } from "./meettime.js";
export {
  type CallCapacity,
  MeshCall,
  type MeshCallEvents,
  type MeshCallOptions,
} from "./mesh-call.js";
export { SfuCall, type SfuCallEvents, type SfuCallOptions } from "./sfu-call.js";
export { type BackoffOptions, backoffDelay, renewalTime } from "./timing.js";
export type * from "./types.js";
