/**
 * What the connection reads off the wire: close codes that end it for good,
 * why an upgrade was refused (asked of REST), and incoming frames sorted
 * into answers (`ack`/`error`) and server events.
 */
import { CLOSE } from "../protocol/close-codes";
import type { CloseReason } from "./connection-types";
import { MeetTimeError } from "./errors";
import type { MeetTime } from "./meettime";
import type { ServerEventData, ServerEventType } from "./types";

/** Close codes after which reconnecting makes no sense. */
export const CLOSE_REASONS: Record<number, CloseReason> = {
  [CLOSE.TERMINATED]: "terminated",
  [CLOSE.KICKED]: "kicked",
  [CLOSE.FLOODING]: "flooded",
  [CLOSE.REPLACED]: "replaced",
};
/** REST statuses (of `GET` the meeting after a refused upgrade) that are final. */
const REFUSAL_REASONS: Record<number, CloseReason> = {
  401: "unauthorized",
  403: "forbidden",
  404: "not-found",
};
export const NORMAL_CLOSURE = CLOSE.NORMAL;
/** `WebSocket.OPEN`, which the `ws` package has only on its class. */
export const OPEN = 1;

/**
 * The final reason of a refused upgrade, with the REST error that tells it;
 * undefined while it may pass.
 */
export async function whyRefused(
  client: MeetTime,
  meetingId: string,
  token: string,
): Promise<{ reason: CloseReason; error: MeetTimeError } | undefined> {
  try {
    const { meeting } = await client.getMeeting(meetingId, token);
    if (meeting.status !== "ended") return undefined;
    return { reason: "ended", error: new MeetTimeError("MEETING_ENDED", "the meeting has ended", 410) };
  } catch (error) {
    // Network errors, 429 and 503 are passing: keep trying.
    const reason = error instanceof MeetTimeError ? REFUSAL_REASONS[error.status] : undefined;
    return reason && { reason, error: error as MeetTimeError };
  }
}

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

/** An incoming frame: the answer to a sent frame (with its `id`, if any), or a server event. */
export type IncomingFrame =
  | { kind: "ack"; id: string | undefined }
  | { kind: "error"; id: string | undefined; error: MeetTimeError }
  | { kind: "event"; event: ServerEventData };

/** Reads one incoming message; undefined for `pong`, non-JSON and unknown frames (a newer server's). */
export function decodeFrame(raw: unknown): IncomingFrame | undefined {
  if (typeof raw !== "string" || raw === "pong") return undefined;
  let json: any;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined; // the server sends JSON only
  }
  if (json?.type === "ack" || json?.type === "error") {
    const id = typeof json.id === "string" ? json.id : undefined;
    return json.type === "ack" ? { kind: "ack", id } : { kind: "error", id, error: errorOfFrame(json.error) };
  }
  // Events are checked at the envelope only: the zod schemas would add ~100 KB (gzip) to every
  // browser bundle, and the server builds its frames from the same types. Unknown types (a newer
  // server's) are ignored, as the contract lets clients.
  if (typeof json?.type === "string" && Object.hasOwn(SERVER_EVENT_TYPES, json.type) && isObject(json.data)) {
    return { kind: "event", event: json as ServerEventData };
  }
  return undefined;
}

function errorOfFrame(error: unknown): MeetTimeError {
  const body = isObject(error) ? error : {};
  return MeetTimeError.fromFrame({
    code: typeof body.code === "string" ? body.code : "INTERNAL",
    message: typeof body.message === "string" ? body.message : "malformed error frame",
    ...(isObject(body.details) ? { details: body.details } : {}),
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
