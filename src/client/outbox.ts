/**
 * The frames a connection sends: each waits for its `ack` or `error` (or a
 * timeout) in flight, and frames sent while the connection is down wait in
 * a bounded queue until it is back.
 */
import type { ConnectionState, WebSocketLike } from "./connection-types.js";
import { MeetTimeError } from "./errors.js";
import type { ClientFrameMap, ClientFrameType } from "./types.js";
import { OPEN } from "./wire.js";

export interface Outgoing {
  id: string;
  frame: string;
  resolve: () => void;
  reject: (error: MeetTimeError) => void;
  timer?: ReturnType<typeof setTimeout>;
}

export class Outbox {
  #nextId = 0;
  readonly #inFlight = new Map<string, Outgoing>();
  readonly #queue: Outgoing[] = [];

  constructor(readonly limits: { queueLimit: number; ackTimeoutMs: number }) {}

  /** Frames waiting for the connection to come back. */
  get queued(): number {
    return this.#queue.length;
  }

  /** A new frame with the next `id`, settled by its answer. */
  create<T extends ClientFrameType>(
    type: T,
    data: ClientFrameMap[T],
    resolve: () => void,
    reject: (error: MeetTimeError) => void,
  ): Outgoing {
    const id = `c${++this.#nextId}`;
    return { id, frame: JSON.stringify({ type, data, id }), resolve, reject };
  }

  /**
   * Sends a frame now if the connection is open, its socket too and nothing
   * waits before it; otherwise queues it behind the others, up to
   * `queueLimit` (then it rejects with `QUEUE_FULL`). A socket can be closing
   * while the connection still says open: its frames wait like any other.
   */
  submit(outgoing: Outgoing, ws: WebSocketLike | undefined, state: ConnectionState): void {
    if (state === "open" && ws?.readyState === OPEN && this.#queue.length === 0) {
      this.#transmit(outgoing, ws);
    } else if (this.#queue.length >= this.limits.queueLimit) {
      const why = state === "open" ? "dropping" : state;
      outgoing.reject(MeetTimeError.client("QUEUE_FULL", `connection is ${why} and ${this.#queue.length} frames wait`));
    } else {
      this.#queue.push(outgoing);
    }
  }

  /** Sends the queued frames, oldest first, while the socket stays open. */
  flush(ws: WebSocketLike | undefined): void {
    while (this.#queue.length > 0 && ws?.readyState === OPEN) this.#transmit(this.#queue.shift()!, ws);
  }

  /** Sends a frame on an open socket and starts its answer's timeout. */
  #transmit(outgoing: Outgoing, ws: WebSocketLike): void {
    this.#inFlight.set(outgoing.id, outgoing);
    outgoing.timer = setTimeout(() => {
      if (this.#inFlight.delete(outgoing.id))
        outgoing.reject(MeetTimeError.client("TIMEOUT", "no answer from the server"));
    }, this.limits.ackTimeoutMs);
    ws.send(outgoing.frame);
  }

  /** Settles the frame an `ack` or `error` answers; returns an error that answers no awaited frame. */
  answered(id: string | undefined, error?: MeetTimeError): MeetTimeError | undefined {
    const outgoing = id === undefined ? undefined : this.#inFlight.get(id);
    if (outgoing) {
      this.#inFlight.delete(outgoing.id);
      clearTimeout(outgoing.timer);
    }
    if (!error) outgoing?.resolve();
    else if (outgoing) outgoing.reject(error);
    else return error;
    return undefined;
  }

  /** Rejects the frames in flight (their socket is gone); the queued ones stay. */
  failInFlight(error: () => MeetTimeError): void {
    for (const outgoing of this.#inFlight.values()) {
      clearTimeout(outgoing.timer);
      outgoing.reject(error());
    }
    this.#inFlight.clear();
  }

  /** Rejects every frame, in flight and queued (the connection closed for good). */
  failAll(error: () => MeetTimeError): void {
    const queued = this.#queue.splice(0);
    this.failInFlight(error);
    for (const outgoing of queued) outgoing.reject(error());
  }
}
