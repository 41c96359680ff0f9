/**
 * Per-participant token buckets for WebSocket frames. In memory on purpose:
 * a flooding connection keeps the object awake, and keying by participant
 * means reconnecting does not refill the bucket.
 */
import type { ClientFrameType } from "../protocol/schemas";

interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

const CHAT: BucketSpec = { capacity: 10, refillPerSecond: 5 };
const REALTIME: BucketSpec = { capacity: 200, refillPerSecond: 50 };

/**
 * Host controls share the realtime bucket; only chat has its own tighter one.
 * Frames that failed to parse (no type) cost the realtime bucket too, so a
 * flood of garbage is refused and closed like any other flood.
 */
function bucketFor(type: ClientFrameType | undefined): "chat" | "realtime" {
  return type === "chat:message" ? "chat" : "realtime";
}

/** More refusals than this within the window close the connection with 4008. */
export const FLOOD_REFUSALS = 50;
export const FLOOD_WINDOW_MS = 10_000;

class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly spec: BucketSpec,
    now: number,
  ) {
    this.tokens = spec.capacity;
    this.updatedAt = now;
  }

  take(now: number): boolean {
    const refill = ((now - this.updatedAt) / 1000) * this.spec.refillPerSecond;
    this.tokens = Math.min(this.spec.capacity, this.tokens + refill);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class FrameRateLimits {
  private readonly buckets = new Map<string, { chat: TokenBucket; realtime: TokenBucket }>();
  private readonly refusals = new WeakMap<WebSocket, number[]>();

  /** True when the participant may send a frame of this type (undefined: unparsed) now; spends a token. */
  allow(participantId: string, type: ClientFrameType | undefined, now: number): boolean {
    let buckets = this.buckets.get(participantId);
    if (!buckets) {
      buckets = { chat: new TokenBucket(CHAT, now), realtime: new TokenBucket(REALTIME, now) };
      this.buckets.set(participantId, buckets);
    }
    return buckets[bucketFor(type)].take(now);
  }

  /** Records a refusal on this connection; true when it has now been refused too often. */
  refuse(ws: WebSocket, now: number): boolean {
    const recent = (this.refusals.get(ws) ?? []).filter((at) => now - at < FLOOD_WINDOW_MS);
    recent.push(now);
    this.refusals.set(ws, recent);
    return recent.length > FLOOD_REFUSALS;
  }

  forget(participantId: string): void {
    this.buckets.delete(participantId);
  }
}
