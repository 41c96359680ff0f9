/**
 * Turns a raw WebSocket message into a validated client frame, or into the
 * contract's error. Never throws; keeps the client's frame id whenever the
 * frame is JSON enough to carry one, so even refusals can be correlated.
 */
import { AppError } from "../errors";
import { ClientFrame, type ClientFrameData, LIMITS } from "../protocol/schemas";
import { validationDetails } from "../protocol/validation";

export type ParsedFrame =
  | { ok: true; frame: ClientFrameData; id?: string | number }
  | { ok: false; error: AppError; id?: string | number };

const encoder = new TextEncoder();

function byteLength(message: string | ArrayBuffer): number {
  if (typeof message !== "string") return message.byteLength;
  // Every UTF-16 unit is at most 3 UTF-8 bytes: short frames need no encoding to measure.
  if (message.length * 3 <= LIMITS.FRAME_MAX_BYTES) return message.length;
  return encoder.encode(message).byteLength;
}

function frameId(value: unknown): string | number | undefined {
  if (typeof value !== "object" || value === null || !("id" in value)) return undefined;
  const { id } = value as { id: unknown };
  return (typeof id === "string" && id.length <= 128) || (typeof id === "number" && Number.isFinite(id))
    ? id
    : undefined;
}

export function parseClientFrame(message: string | ArrayBuffer): ParsedFrame {
  if (byteLength(message) > LIMITS.FRAME_MAX_BYTES) {
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
