/**
 * `createCall`: the right call for a meeting's media mode (contract 1.2):
 * `MeshCall` for `mesh` (peer to peer, up to 6 peers), `SfuCall` for `sfu`
 * (through the SFU, everyone). Both have the same surface: `start`, `stop`,
 * `local-stream`, `stream`, `peer-left` and `error` events, mute, camera,
 * hand, screen sharing and `audioLevels()`.
 */
import type { MeetingConnection } from "./connection.js";
import type { Emitter } from "./emitter.js";
import { MeshCall, type MeshCallEvents, type MeshCallOptions } from "./mesh-call.js";
import { SfuCall, type SfuCallOptions } from "./sfu-call.js";

/** Options of either call; each takes what applies to it (`maxPeers` is the mesh's, `videoFrom` the SFU's). */
export type CallOptions = MeshCallOptions & SfuCallOptions;

export type Call = MeshCall | SfuCall;

/** The events both calls emit with the same data. */
export type SharedCallEvents = Pick<MeshCallEvents, "local-stream" | "stream" | "peer-left" | "error">;

/**
 * Either call, seen through the events they share, so one listener serves
 * both (TypeScript cannot call `on` on the union itself).
 * @example sharedEvents(call).on("stream", ({ participantId, stream }) => show(participantId, stream));
 */
export function sharedEvents(call: Call): Pick<Emitter<SharedCallEvents>, "on" | "once" | "off"> {
  return call as unknown as Emitter<SharedCallEvents>;
}

/**
 * Waits for the connection's first `meeting:joined` and returns the call its
 * `media.mode` needs (not started). Rejects as `connection.ready` does.
 * @example
 * const call = await createCall(conn, { media: { audio: true, video: { width: 640 } } });
 * call.on("stream", ({ participantId, stream }) => show(participantId, stream));
 * await call.start();
 */
export async function createCall(connection: MeetingConnection, options: CallOptions = {}): Promise<Call> {
  const joined = await connection.ready;
  const mode = connection.media?.mode ?? joined.media.mode;
  return mode === "sfu" ? new SfuCall(connection, options) : new MeshCall(connection, options);
}
