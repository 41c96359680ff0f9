/**
 * Client side of a broadcast benchmark, shared by the MeetTime and the
 * Socket.IO clients: counts deliveries per client and message, sends chat
 * at a pace that stays under the per-participant chat limit, and talks to
 * the orchestrating parent in checkpoints (the parent reads server CPU at
 * each one, while the server is idle).
 */
import { performance } from "node:perf_hooks";

/** Message k travels as this text, so any client can tell which message it got. */
export const messageText = (k) => `bench message #${k}`;
const TEXT_PATTERN = /bench message #(\d+)/;
export const messageIndex = (text) => Number(TEXT_PATTERN.exec(text)?.[1] ?? -1);

/**
 * Who received what: each client must get each message exactly once. Also
 * the latency of every delivery of messages from `measureFrom` on (the
 * warm-up excluded): sender and receivers share this process and its clock,
 * so it is the time from `send` to the receiving client's handler.
 */
export class DeliveryTracker {
  constructor(clientCount, messageCount, measureFrom = 0) {
    this.clientCount = clientCount;
    this.messageCount = messageCount;
    this.measureFrom = measureFrom;
    this.sentAt = new Float64Array(messageCount);
    this.firstAt = new Float64Array(messageCount);
    this.lastAt = new Float64Array(messageCount);
    this.latencies = [];
    this.counts = new Uint16Array(messageCount);
    this.seen = Array.from({ length: clientCount }, () => new Uint8Array(messageCount));
    this.completed = 0;
    this.deliveries = 0;
    this.duplicates = 0;
    this.strays = 0;
    this.waiters = [];
  }

  deliver(client, k) {
    if (!(k >= 0 && k < this.messageCount)) {
      this.strays++;
      return;
    }
    if (this.seen[client][k]) {
      this.duplicates++;
      return;
    }
    this.seen[client][k] = 1;
    this.deliveries++;
    const now = performance.now();
    if (k >= this.measureFrom) this.latencies.push(now - this.sentAt[k]);
    if (this.counts[k] === 0) this.firstAt[k] = now;
    if (++this.counts[k] === this.clientCount) {
      this.lastAt[k] = now;
      this.completed++;
      for (const wake of this.waiters.splice(0)) wake();
    }
  }

  /**
   * Where a message's time goes, over the measured messages: until its
   * first recipient has it (handling, storage, waiting behind earlier
   * messages), and from then until its last recipient has it (the fan-out).
   */
  fanOut() {
    const first = [];
    const spread = [];
    for (let k = this.measureFrom; k < this.messageCount; k++) {
      first.push(this.firstAt[k] - this.sentAt[k]);
      spread.push(this.lastAt[k] - this.firstAt[k]);
    }
    return { firstDelivery: percentiles(first), fanOutSpread: percentiles(spread) };
  }

  /** Resolves at the next completed message, or after `ms`. */
  progress(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/**
 * Sends messages [from, to) round-robin over `senders` clients: at a steady
 * `rate` a second (0: as fast as the rest allows), at most `window` messages
 * not yet delivered to everyone, and no sender more often than every
 * `minIntervalMs` (the server refills 5 chat tokens a second and holds 10,
 * so 4 a second per sender is never refused). A fixed rate matters: CPU per
 * delivery falls as load rises (more work per wake-up), so two servers are
 * compared at the same offered load. Resolves once every client has every
 * message; rejects when nothing progresses for `stallMs`.
 */
export async function sendPaced({ tracker, senders, from, to, rate, window, minIntervalMs, send, stallMs = 30_000 }) {
  const lastSent = new Float64Array(senders).fill(Number.NEGATIVE_INFINITY);
  let next = from;
  let lastProgressAt = performance.now();
  let lastCompleted = tracker.completed;
  const startedAt = performance.now();
  const dueAt = (k) => (rate > 0 ? startedAt + ((k - from) * 1000) / rate : 0);
  while (tracker.completed < to) {
    const now = performance.now();
    if (tracker.completed !== lastCompleted) {
      lastCompleted = tracker.completed;
      lastProgressAt = now;
    } else if (now - lastProgressAt > stallMs) {
      throw new Error(`stalled: ${tracker.completed}/${to} messages delivered to every client`);
    }
    if (next < to && next - tracker.completed < window) {
      const sender = next % senders;
      const wait = Math.max(lastSent[sender] + minIntervalMs, dueAt(next)) - now;
      if (wait <= 0) {
        tracker.sentAt[next] = performance.now();
        send(sender, next);
        lastSent[sender] = now;
        next++;
        continue;
      }
      await tracker.progress(wait);
    } else {
      await tracker.progress(1_000);
    }
  }
  return { wallMs: performance.now() - startedAt };
}

/** Tells the parent we reached `name` and waits for its go-ahead (it samples server CPU meanwhile). */
export function checkpoint(name, info = {}) {
  return new Promise((resolve) => {
    const onMessage = (message) => {
      if (message?.continue === name) {
        process.off("message", onMessage);
        resolve(message);
      }
    };
    process.on("message", onMessage);
    process.send({ checkpoint: name, info });
  });
}

// Without the parent nobody reads our results: stop, rather than linger with open sockets and timers.
process.on("disconnect", () => process.exit(1));

/** The benchmark parameters the parent passes as the first IPC message. */
export function receiveParameters() {
  return new Promise((resolve) => process.once("message", resolve));
}

/** Runs `task` over `items` with at most `limit` at a time, keeping order of results. */
export async function mapLimit(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Connects every client (10 at a time) and waits until each has seen every
 * later one join: n(n-1)/2 participant-joined notices in all, counted by
 * `joinsSeen()`. Resolves to the sockets and how long that took.
 */
export async function connectAll({ items, connect, joinsSeen, tracker, timeoutMs = 120_000 }) {
  await checkpoint("connecting"); // the parent reads the server's memory before any socket
  const startedAt = performance.now();
  const sockets = await mapLimit(items, 10, connect);
  const expectedJoins = (items.length * (items.length - 1)) / 2;
  while (joinsSeen() < expectedJoins) {
    if (performance.now() - startedAt > timeoutMs)
      throw new Error(`only ${joinsSeen()} of ${expectedJoins} joins seen`);
    await tracker.progress(50);
  }
  return { sockets, connectMs: performance.now() - startedAt };
}

/** The common phases after every client is connected: idle, warm-up, measured window. */
export async function runChatPhases({ tracker, clients, params, send, counters }) {
  await checkpoint("connected");
  const pace = {
    tracker,
    senders: clients,
    rate: params.rate,
    window: params.window,
    minIntervalMs: params.minSenderIntervalMs,
    send,
  };
  const warm = await sendPaced({ ...pace, from: 0, to: params.warmup });
  await checkpoint("warm", { wallMs: warm.wallMs });
  const measured = await sendPaced({ ...pace, from: params.warmup, to: params.messages });
  await checkpoint("done", {
    wallMs: measured.wallMs,
    warmWallMs: warm.wallMs,
    deliveries: tracker.deliveries,
    duplicates: tracker.duplicates,
    strays: tracker.strays,
    latency: percentiles(tracker.latencies),
    ...tracker.fanOut(),
    ...counters(),
  });
}

/** p50 / p99 / max (ms) of a list of durations, and how many. */
export function percentiles(values) {
  if (values.length === 0) return { count: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}

const ROUND_TRIP_TEXT = /^round trip (ask|reply) #(\d+)$/;

/**
 * Chat round trips between clients 0 and 1: 0 sends "ask #i", 1 answers
 * "reply #i" the moment the ask arrives, and the time from the ask's send to
 * the reply's arrival at 0 is one round trip. One at a time, `spacingMs`
 * apart (each sends one chat message per trip: under the 5/s chat limit).
 */
export class RoundTrips {
  constructor(send) {
    this.send = send; // (client, text) => void
    this.times = [];
    this.pending = undefined;
  }

  /** Takes a chat text a client received; false when it is not part of the round trips. */
  receive(client, text) {
    const match = ROUND_TRIP_TEXT.exec(text);
    if (!match) return false;
    const [, kind, i] = match;
    if (kind === "ask" && client === 1) this.send(1, `round trip reply #${i}`);
    if (kind === "reply" && client === 0 && this.pending?.i === Number(i)) this.pending.done();
    return true;
  }

  async run(count, spacingMs = 200) {
    for (let i = 0; i < count; i++) {
      const startedAt = performance.now();
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`round trip ${i} unanswered within 10 s`)), 10_000);
        this.pending = {
          i,
          done: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        this.send(0, `round trip ask #${i}`);
      });
      this.times.push(performance.now() - startedAt);
      await new Promise((resolve) => setTimeout(resolve, spacingMs));
    }
    return percentiles(this.times);
  }
}
