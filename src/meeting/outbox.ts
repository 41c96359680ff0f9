/**
 * Batched frames for sockets that speak `meettime.v2`: events that become
 * ready for such a socket while the object's output gate is closed go out
 * together, as one frame holding a JSON array of them, when the gate opens.
 *
 * Why then: after a storage write the runtime holds every outgoing frame
 * until the write is confirmed (workerd's output gate; `storage.sync()`
 * resolves at exactly that point), so an event queued here waits no longer
 * than it would in the runtime's own queue, and events of messages that
 * arrived meanwhile share its frame instead of each paying the runtime's
 * per-frame send cost. When nothing was written, nothing waits: events go
 * out at once, one per frame. A 1.0 socket never comes here.
 *
 * Order per socket is kept by sending through `sendQuietly`/`closeQuietly`
 * (sockets.ts), which hand a v2 socket's frames here while it has some
 * waiting, and flush them before a close.
 */

/** A frame holding these events, in order: the event itself when it is alone. */
export function batchFrame(events: readonly string[]): string {
  return events.length === 1 ? events[0]! : `[${events.join(",")}]`;
}

/** Which object's outbox a v2 socket belongs to (several meetings may share an isolate). */
const outboxes = new WeakMap<WebSocket, Outbox>();

/** The outbox holding frames for `ws`, when it is a v2 socket. */
export function outboxOf(ws: WebSocket): Outbox | undefined {
  return outboxes.get(ws);
}

export class Outbox {
  private readonly waiting = new Map<WebSocket, string[]>();
  /** Writes not yet confirmed by the runtime: while there are any, the output gate is closed. */
  private unconfirmedWrites = 0;

  /** @param synced resolves once every write so far is confirmed: `ctx.storage.sync()`. */
  constructor(private readonly synced: () => Promise<void>) {}

  /** Marks `ws` as a v2 socket of this object (on accept, and when rebuilt after a wake). */
  adopt(ws: WebSocket): void {
    outboxes.set(ws, this);
  }

  /**
   * Takes a frame for `ws` when it must wait: the gate is closed or earlier
   * frames for it still wait. False: send it now.
   */
  offer(ws: WebSocket, frame: string): boolean {
    const waiting = this.waiting.get(ws);
    if (waiting) waiting.push(frame);
    else if (this.unconfirmedWrites > 0) this.waiting.set(ws, [frame]);
    else return false;
    return true;
  }

  /**
   * Called after a storage write: until it is confirmed, v2 frames wait here.
   * Each write has its own sync, so an event never waits for a later write's
   * commit; what waits goes out at the first confirmation after it was
   * queued (frames of still unconfirmed writes then wait in the runtime's
   * gate, as every frame does).
   */
  wrote(): void {
    this.unconfirmedWrites++;
    // A failed write breaks the object (the runtime resets it); whatever waits goes out regardless.
    this.synced()
      .catch(() => {})
      .then(() => {
        this.unconfirmedWrites--;
        this.flushAll();
      });
  }

  /** Sends what waits for one socket, e.g. before it is closed. */
  flush(ws: WebSocket): void {
    const waiting = this.waiting.get(ws);
    if (!waiting) return;
    this.waiting.delete(ws);
    sendNow(ws, batchFrame(waiting));
  }

  private flushAll(): void {
    const batches = [...this.waiting];
    this.waiting.clear();
    // Every socket usually waits for the same events: build each distinct frame once.
    let lastEvents: string[] | undefined;
    let lastFrame = "";
    for (const [ws, events] of batches) {
      if (!lastEvents || !sameEvents(lastEvents, events)) {
        lastEvents = events;
        lastFrame = batchFrame(events);
      }
      sendNow(ws, lastFrame);
    }
  }
}

/** The socket's own send, past the outbox; a socket that closed under us is its close handler's business. */
function sendNow(ws: WebSocket, frame: string): void {
  try {
    ws.send(frame);
  } catch {
    // The peer is gone.
  }
}

function sameEvents(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
