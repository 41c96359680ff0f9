/**
 * Per-participant token buckets for WebSocket frames. In memory on purpose:
 * a flooding connection keeps the object awake, and keying by participant
 * means reconnecting does not refill the bucket. A participant's buckets are
 * dropped only when it is removed from the meeting (kicked or left), so
 * memory is bounded by the participants ever listed at once, not by joins.
 */
import type { ClientFrameType } from "../protocol/schemas";

/** Chat has its own tight bucket; every other frame, and anything unparseable, costs the realtime one. */
export type FrameBucket = "chat" | "realtime";

export function bucketOf(type: ClientFrameType | undefined): FrameBucket {
  return type === "chat:message" ? "chat" : "realtime";
}

interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

const CHAT: BucketSpec = { capacity: 10, refillPerSecond: 5 };
const REALTIME: BucketSpec = { capacity: 200, refillPerSecond: 50 };
/**
 * Signaling into one participant, whatever the number of senders (contract
 * 1.1): without it 49 senders could each push 50 frames of 64 KiB a second
 * at one victim.
 */
export const SIGNALING_INTO: BucketSpec = { capacity: 200, refillPerSecond: 100 };

/** Contract 1.2: each participant's calls to the `/media/*` routes (REST, so outside the frame flood rules). */
export const MEDIA_CALLS: BucketSpec = { capacity: 50, refillPerSecond: 10 };

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

/** One participant's buckets, each made on first use. */
interface ParticipantBuckets {
  chat?: TokenBucket;
  realtime?: TokenBucket;
  signalingInto?: TokenBucket;
  media?: TokenBucket;
}

const SPECS = { chat: CHAT, realtime: REALTIME, signalingInto: SIGNALING_INTO, media: MEDIA_CALLS } as const;

export class FrameRateLimits {
  private readonly buckets = new Map<string, ParticipantBuckets>();
  private readonly refusals = new WeakMap<WebSocket, number[]>();

  /** True when the participant may send a frame of this type (undefined: unparsed) now; spends a token. */
  allow(participantId: string, type: ClientFrameType | undefined, now: number): boolean {
    return this.take(participantId, bucketOf(type), now);
  }

  /** Spends a token of one of the participant's sending buckets; false when it is empty. */
  take(participantId: string, bucket: FrameBucket, now: number): boolean {
    return this.bucket(participantId, bucket, now).take(now);
  }

  /** Spends a token of the bucket of signaling addressed to `participantId`; false when it is full up. */
  allowSignalingInto(participantId: string, now: number): boolean {
    return this.bucket(participantId, "signalingInto", now).take(now);
  }

  /** Spends a token of the participant's `/media/*` bucket; false when it is empty. */
  allowMediaCall(participantId: string, now: number): boolean {
    return this.bucket(participantId, "media", now).take(now);
  }

  private bucket(participantId: string, kind: keyof ParticipantBuckets, now: number): TokenBucket {
    let buckets = this.buckets.get(participantId);
    if (!buckets) {
      buckets = {};
      this.buckets.set(participantId, buckets);
    }
    let bucket = buckets[kind];
    if (!bucket) {
      bucket = new TokenBucket(SPECS[kind], now);
      buckets[kind] = bucket;
    }
    return bucket;
  }

  /** True for a connection's first refusal only: it is reported once per connection, not per frame. */
  firstRefusal(ws: WebSocket): boolean {
    return !this.refusals.has(ws);
  }

  /** Records a refusal on this connection; true when it has now been refused too often. */
  refuse(ws: WebSocket, now: number): boolean {
    const recent = (this.refusals.get(ws) ?? []).filter((at) => now - at < FLOOD_WINDOW_MS);
    recent.push(now);
    this.refusals.set(ws, recent);
    return recent.length > FLOOD_REFUSALS;
  }

  /** Drops a removed participant's buckets. Never on a mere disconnect: a reconnect must not refill them. */
  forget(participantId: string): void {
    this.buckets.delete(participantId);
  }

  /** How many participants have buckets: bounded by those listed, which a test checks. */
  get trackedParticipants(): number {
    return this.buckets.size;
  }
}
