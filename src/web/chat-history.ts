/**
 * The chat this tab keeps: at most `limit` messages, in `seq` order, each
 * once. Work per message stays constant however long the meeting runs: a
 * duplicate is found in a Set of seqs, not by searching the history; a new
 * message (the usual case) is appended, and only a replayed older one walks
 * back from the end; past the limit the oldest goes.
 */
import type { ChatMessageData } from "../client/types";

/** What adding a message changed: nothing, or where it went and what fell off the front. */
export type ChatAddition =
  | { added: false }
  | {
      added: true;
      /** The shown message it goes before; undefined appends. */
      beforeSeq: number | undefined;
      /** Seqs dropped to stay within the limit, oldest first. */
      evicted: number[];
    };

export class ChatHistory {
  readonly #limit: number;
  readonly #messages: ChatMessageData[] = [];
  readonly #seqs = new Set<number>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The kept messages, oldest first (a live view: do not change it). */
  get messages(): readonly ChatMessageData[] {
    return this.#messages;
  }

  /**
   * Keeps `message` unless its `seq` is kept already or, with the history
   * full, it is older than everything kept.
   * @example if (history.add(message).added) persistSoon();
   */
  add(message: ChatMessageData): ChatAddition {
    const messages = this.#messages;
    if (this.#seqs.has(message.seq)) return { added: false };
    const full = messages.length >= this.#limit;
    if (full && message.seq < (messages[0]?.seq ?? 0)) return { added: false };
    let index = messages.length;
    while (index > 0 && (messages[index - 1]?.seq ?? 0) > message.seq) index -= 1;
    const beforeSeq = messages[index]?.seq;
    messages.splice(index, 0, message);
    this.#seqs.add(message.seq);
    const evicted: number[] = [];
    while (messages.length > this.#limit) {
      const oldest = messages.shift();
      if (oldest) {
        this.#seqs.delete(oldest.seq);
        evicted.push(oldest.seq);
      }
    }
    return { added: true, beforeSeq, evicted };
  }
}

/**
 * Runs `write` at most once per `intervalMs`: the first call writes at once,
 * calls within the interval are folded into one trailing write.
 * `flush()` writes now if a write is pending (before the page goes away).
 * @example const persist = throttled(() => saveSeat(seat), 1000);
 */
export function throttled(write: () => void, intervalMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending = false;
  const run = () => {
    pending = false;
    write();
    timer = setTimeout(() => {
      timer = undefined;
      if (pending) run();
    }, intervalMs);
  };
  return {
    request() {
      if (timer === undefined) run();
      else pending = true;
    },
    flush() {
      if (pending) {
        clearTimeout(timer);
        run();
      }
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
      pending = false;
    },
  };
}
