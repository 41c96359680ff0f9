/**
 * Turns a raw WebSocket message into a validated client frame, or into the
 * contract's error, in two steps so that nothing costly runs before the
 * sender's token bucket allowed the frame (contract 1.1):
 *
 * 1. `admitFrame` looks at the message without parsing it: its size from the
 *    string's length (a JS string of length L is between L and 3L bytes of
 *    UTF-8, so only frames in between are counted, never encoded) and which
 *    bucket it is charged to, by one substring search.
 * 2. `parseClientFrame` parses and validates a frame the bucket allowed.
 *
 * Neither throws; both keep the client's frame id when they can find it, so
 * even refusals can be correlated.
 */
import { AppError } from "../errors";
import { ClientFrame, type ClientFrameData, LIMITS } from "../protocol/schemas";
import { validationDetails } from "../protocol/validation";
import type { FrameBucket } from "../ratelimit/frame-buckets";

export type ParsedFrame =
  | { ok: true; frame: ClientFrameData; id?: string | number }
  | { ok: false; error: AppError; id?: string | number };

export interface AdmittedFrame {
  /** The bucket charged before parsing (see `admitFrame`). */
  bucket: FrameBucket;
  /** Set when the frame is refused from its size alone. */
  tooLarge: boolean;
}

const CHAT_TYPE_LITERAL = '"chat:message"';

/**
 * What can be known of a frame without parsing it. The bucket is a guess
 * that can only err in the sender's disfavour or be corrected after parsing:
 * a frame containing the literal `"chat:message"` is charged to chat (a
 * signaling frame whose SDP happens to contain it pays the stricter bucket),
 * anything else to realtime; a chat frame that hid its type from the search
 * (`"chat\u003amessage"`) is charged its chat token too once parsed
 * (`MeetingRoom.webSocketMessage`). So every parsed frame has paid its own
 * bucket, and parsing is bounded by the two buckets' refill rates together.
 */
export function admitFrame(message: string | ArrayBuffer): AdmittedFrame {
  const tooLarge = frameBytesOver(message, LIMITS.FRAME_MAX_BYTES);
  if (tooLarge || typeof message !== "string") return { bucket: "realtime", tooLarge };
  return { bucket: message.includes(CHAT_TYPE_LITERAL) ? "chat" : "realtime", tooLarge };
}

/** True when the message is over `limit` bytes; a string is measured from its length, counted only when in doubt. */
export function frameBytesOver(message: string | ArrayBuffer, limit: number): boolean {
  if (typeof message !== "string") return message.byteLength > limit;
  if (message.length > limit) return true;
  if (message.length * 3 <= limit) return false;
  return utf8Length(message) > limit;
}

/** UTF-8 byte length without encoding: 1 to 3 bytes per UTF-16 unit, 4 per surrogate pair. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * A refused frame's `id`, found without parsing: a key `"id"` right after
 * `{` or `,` (inside a JSON string those quotes would be escaped, and no
 * valid frame's data has an `id` key), with a plain string (no escapes, at
 * most 128 characters) or a number. Anything else is left unanswered by id,
 * as a frame without one. Linear: each candidate position is tried once.
 */
const ID_KEY = /[{,]\s*"id"\s*:\s*(?:"([^"\\]{0,128})"|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))/;

/** `tooLarge` as for `parseClientFrame`: a frame over the limit is refused without an id. */
export function peekFrameId(
  message: string | ArrayBuffer,
  tooLarge = frameBytesOver(message, LIMITS.FRAME_MAX_BYTES),
): string | number | undefined {
  if (typeof message !== "string" || tooLarge) return undefined;
  const match = ID_KEY.exec(message);
  if (!match) return undefined;
  if (match[1] !== undefined) return match[1];
  const number = Number(match[2]);
  return Number.isFinite(number) ? number : undefined;
}

function frameId(value: unknown): string | number | undefined {
  if (typeof value !== "object" || value === null || !("id" in value)) return undefined;
  const { id } = value as { id: unknown };
  return (typeof id === "string" && id.length <= 128) || (typeof id === "number" && Number.isFinite(id))
    ? id
    : undefined;
}

/**
 * Parses and validates a frame. `tooLarge` is the admission's verdict
 * (`admitFrame`), so a message is measured once; callers that did not admit
 * it leave it out and the size is measured here.
 */
export function parseClientFrame(
  message: string | ArrayBuffer,
  tooLarge = frameBytesOver(message, LIMITS.FRAME_MAX_BYTES),
): ParsedFrame {
  if (tooLarge) {
    return { ok: false, error: new AppError("PAYLOAD_TOO_LARGE", "frames are limited to 64 KiB") };
  }
  if (typeof message !== "string") {
    return { ok: false, error: new AppError("VALIDATION_FAILED", "binary frames are not supported; send JSON text") };
  }
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return { ok: false, error: new AppError("VALIDATION_FAILED", "frame is not valid JSON") };
  }
  const id = frameId(json);
  const parsed = ClientFrame.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      id,
      error: new AppError("VALIDATION_FAILED", "invalid frame", validationDetails(parsed.error)),
    };
  }
  return { ok: true, frame: parsed.data, id };
}
