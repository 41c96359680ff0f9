/**
 * What the connection reads off the wire: close codes that end it for good,
 * why an upgrade was refused (asked of REST), and incoming frames sorted
 * into answers (`ack`/`error`), server events (their shape checked in
 * event-shapes.ts) and frames to drop.
 */
import { CLOSE } from "../protocol/close-codes.js";
import type { CloseReason, WebSocketLike } from "./connection-types.js";
import { MeetTimeError } from "./errors.js";
import { SERVER_EVENT_CHECKS } from "./event-shapes.js";
import type { MeetTime } from "./meettime.js";
import type { ServerEventData, ServerEventType } from "./types.js";

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

const noop = () => {};

/** Lets go of a socket: its handlers go quiet, and it is closed (with `code`) if still up. */
export function letGo(ws: WebSocketLike, code: number): void {
  ws.onopen = ws.onmessage = ws.onclose = noop;
  try {
    ws.close(code);
  } catch {
    // already closing or closed
  }
}

/** An incoming frame: the answer to a sent frame (with its `id`, if any), a server event, or one to drop. */
export type IncomingFrame =
  | { kind: "ack"; id: string | undefined }
  | { kind: "error"; id: string | undefined; error: MeetTimeError }
  | { kind: "event"; event: ServerEventData }
  /** Not the contract's: `type` (if it had one) and where it does not fit. */
  | { kind: "malformed"; type: string | undefined; where: string };

/**
 * Reads one incoming message; undefined for `pong` and for events of an
 * unknown type (a newer server's: the contract lets clients ignore them).
 */
export function decodeFrame(raw: unknown): IncomingFrame | undefined {
  if (raw === "pong") return undefined;
  if (typeof raw !== "string") return { kind: "malformed", type: undefined, where: "binary" };
  let json: any;
  try {
    json = JSON.parse(raw);
  } catch {
    return { kind: "malformed", type: undefined, where: "not JSON" };
  }
  const type: unknown = json?.type;
  if (typeof type !== "string") return { kind: "malformed", type: undefined, where: "type" };
  if (type === "ack" || type === "error") {
    const id = typeof json.id === "string" ? json.id : undefined;
    return type === "ack" ? { kind: "ack", id } : { kind: "error", id, error: errorOfFrame(json.error) };
  }
  if (!Object.hasOwn(SERVER_EVENT_CHECKS, type)) return undefined;
  const where = SERVER_EVENT_CHECKS[type as ServerEventType](json.data);
  if (where !== undefined) return { kind: "malformed", type, where: where === "" ? "data" : `data.${where}` };
  return { kind: "event", event: json as ServerEventData };
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
