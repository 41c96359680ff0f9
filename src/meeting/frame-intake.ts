/**
 * How a frame from a live socket is taken in, before its rule runs: the
 * sender's activity noted, size and bucket checked before any parsing
 * (contract 1.1; frames.ts says how the bucket is picked unparsed), a flood
 * refused and, past its limit, closed; then the frame parsed and handed to
 * the room's handler, and acknowledged or answered with an error frame.
 */
import { toAppError } from "../error-path";
import { AppError } from "../errors";
import { log } from "../log";
import { CLOSE } from "../protocol/close-codes";
import type { ClientFrameData } from "../protocol/schemas";
import { bucketOf, type FrameBucket } from "../ratelimit/frame-buckets";
import { disconnect } from "./connection";
import type { RoomContext } from "./context";
import { admitFrame, parseClientFrame, peekFrameId } from "./frames";
import { encodeAck, encodeError, type SocketIdentity, sendQuietly } from "./socket-registry";

/** How a frame is acknowledged: now (the default, after its handler), or later by whoever takes it. */
export interface FrameAck {
  now(): void;
  /** Takes the ack out of this event; returns the function that sends it. */
  later(): () => void;
}

export type FrameHandler = (
  sender: SocketIdentity,
  frame: ClientFrameData,
  ack: FrameAck,
  ws: WebSocket,
) => void | Promise<void>;

export async function takeFrame(
  room: RoomContext,
  ws: WebSocket,
  message: string | ArrayBuffer,
  handle: FrameHandler,
): Promise<void> {
  const sender = room.sockets.identity(ws);
  if (!sender) return; // A socket we retired; its close is on the way.
  const now = Date.now();
  room.sockets.touch(ws, now);
  const admitted = admitFrame(message);
  if (!room.frameLimits.take(sender.participantId, admitted.bucket, now)) {
    return refuseFlood(room, ws, sender, admitted.bucket, peekFrameId(message, admitted.tooLarge), now);
  }
  const parsed = parseClientFrame(message, admitted.tooLarge);
  const ack = frameAck(ws, parsed.id);
  try {
    if (!parsed.ok) throw parsed.error;
    const bucket = bucketOf(parsed.frame.type);
    // A chat frame that hid its type from the unparsed look pays its chat token too.
    if (bucket !== admitted.bucket && !room.frameLimits.take(sender.participantId, bucket, now)) {
      return refuseFlood(room, ws, sender, bucket, parsed.id, now);
    }
    await handle(sender, parsed.frame, ack, ws);
    ack.now();
  } catch (error) {
    sendQuietly(ws, encodeError(socketError(room, "message", error).toBody(), parsed.id));
  }
}

/**
 * The contract's error for a failure in a socket door; an `INTERNAL` one is
 * also counted here (REST failures are counted by the worker as 5xx answers).
 */
export function socketError(room: RoomContext, action: string, error: unknown): AppError {
  const appError = toAppError(error, { action: `socket ${action}`, meetingId: room.meetingId });
  if (appError.code === "INTERNAL")
    room.metrics.count("error", { meetingId: room.meetingId, detail: `socket ${action}` });
  return appError;
}

function frameAck(ws: WebSocket, id: string | number | undefined): FrameAck {
  let acked = false;
  const send = () => {
    if (id !== undefined) sendQuietly(ws, encodeAck(id));
  };
  return {
    now: () => {
      if (!acked) send();
      acked = true;
    },
    later: () => {
      acked = true;
      return send;
    },
  };
}

/** A frame over its sender's bucket: refused, and counted towards closing a flooding connection. */
function refuseFlood(
  room: RoomContext,
  ws: WebSocket,
  sender: SocketIdentity,
  bucket: FrameBucket,
  id: string | number | undefined,
  now: number,
): void {
  const refusal = new AppError("RATE_LIMITED", `too many ${bucket} frames; slow down`);
  sendQuietly(ws, encodeError(refusal.toBody(), id));
  const { meetingId } = room;
  if (room.frameLimits.firstRefusal(ws)) {
    log("info", "meeting.rate_limited", { meetingId, participantId: sender.participantId });
    room.metrics.count("rate_limited", { meetingId, detail: "socket" });
  }
  if (room.frameLimits.refuse(ws, now)) {
    log("warn", "meeting.flooding_closed", { meetingId, participantId: sender.participantId });
    disconnect(room, ws, CLOSE.FLOODING, "too many refused frames");
  }
}
