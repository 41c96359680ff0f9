/**
 * What a test client received on one WebSocket, whatever carries it
 * (workerd's WebSocket in the workers pool, the `ws` package end to end):
 * frames in arrival order, waits by type or by frame id with timeouts
 * instead of sleeps, and the close event. Transports feed it through
 * `received` and `closedWith`.
 */

export interface Frame {
  type: string;
  data?: any;
  id?: string | number;
  ts?: string;
  error?: { code: string; message: string; details?: any };
}

export abstract class FrameInbox {
  readonly frames: Frame[] = [];
  /** Every text message, `pong` included. */
  readonly texts: string[] = [];
  closeEvent: { code: number; reason: string } | undefined;
  private cursor = 0;
  private readonly waiters = new Set<() => void>();
  /** Acks and errors by the id of the frame they answer, so bursts of requests wait cheaply. */
  private readonly replies = new Map<string | number, Frame>();

  constructor(private readonly defaultWaitMs: number) {}

  abstract send(frame: unknown): void;

  protected received(text: string): void {
    this.texts.push(text);
    if (text.startsWith("{")) {
      const frame: Frame = JSON.parse(text);
      this.frames.push(frame);
      if ((frame.type === "ack" || frame.type === "error") && frame.id !== undefined && !this.replies.has(frame.id)) {
        this.replies.set(frame.id, frame);
      }
    }
    this.wake();
  }

  protected closedWith(code: number, reason: string): void {
    this.closeEvent = { code, reason };
    this.wake();
  }

  private wake() {
    for (const waiter of this.waiters) waiter();
  }

  /** Resolves with the first defined `find()`, checked now and after every message or close. */
  protected until<T>(what: string, find: () => T | undefined, timeoutMs = this.defaultWaitMs): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found === undefined) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames.map((f) => f.type))}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Marks everything received so far as seen, so `next` only looks at what comes after. */
  skipReceived(): this {
    this.cursor = this.frames.length;
    return this;
  }

  /** The next frame of `type` after those already consumed, skipping others. */
  next(type: string, timeoutMs?: number): Promise<Frame> {
    return this.nextWhere(type, () => true, timeoutMs);
  }

  /** The next frame of `type` that also satisfies `predicate`, after those already consumed. */
  nextWhere(type: string, predicate: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame> {
    return this.until(
      `frame ${type}`,
      () => {
        const index = this.frames.findIndex((f, i) => i >= this.cursor && f.type === type && predicate(f));
        if (index === -1) return undefined;
        this.cursor = index + 1;
        return this.frames[index];
      },
      timeoutMs,
    );
  }

  /** Waits until `count` frames of `type` arrived in total. */
  all(type: string, count: number, timeoutMs?: number): Promise<Frame[]> {
    return this.until(
      `${count} frames ${type} (have ${this.count(type)})`,
      () => {
        const matching = this.frames.filter((f) => f.type === type);
        return matching.length >= count ? matching : undefined;
      },
      timeoutMs,
    );
  }

  /** The first frame matching, anywhere in what was received. */
  find(predicate: (frame: Frame) => boolean, what = "matching frame"): Promise<Frame> {
    return this.until(what, () => this.frames.find(predicate));
  }

  /** The answer (ack or error) to the frame sent with `id`. */
  reply(id: string | number, timeoutMs?: number): Promise<Frame> {
    return this.until(`reply to ${id}`, () => this.replies.get(id), timeoutMs);
  }

  async request(frame: { type: string; data?: unknown }, id: string | number = crypto.randomUUID()): Promise<Frame> {
    this.send({ ...frame, id });
    return this.reply(id);
  }

  /** Sends every frame with a fresh id, then waits for all their answers (in sending order). */
  async burst(frames: { type: string; data?: unknown }[], timeoutMs = 15_000): Promise<Frame[]> {
    const ids = frames.map((frame) => {
      const id = crypto.randomUUID();
      this.send({ ...frame, id });
      return id;
    });
    await this.until(
      `replies to ${ids.length} frames`,
      () => (ids.every((id) => this.replies.has(id)) ? true : undefined),
      timeoutMs,
    );
    return ids.map((id) => this.replies.get(id)!);
  }

  /** Sends the text `ping` and waits for the text `pong`. */
  async ping(): Promise<void> {
    const pongs = () => this.texts.filter((t) => t === "pong").length;
    const before = pongs();
    this.send("ping");
    await this.until("pong", () => (pongs() > before ? true : undefined));
  }

  closed(timeoutMs?: number): Promise<{ code: number; reason: string }> {
    return this.until("close", () => this.closeEvent, timeoutMs);
  }

  count(type: string): number {
    return this.frames.filter((f) => f.type === type).length;
  }
}
