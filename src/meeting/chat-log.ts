/**
 * The meeting's chat: each message stored with the next `seq` (1, 2, 3 …).
 * The last `seq` is read from storage once per instance and then counted
 * here, so relaying a message reads nothing.
 */
import type { ChatRow, MeetingStore } from "./store";

export class ChatLog {
  private lastSeq: number | undefined;

  constructor(private readonly store: MeetingStore) {}

  /** The highest `seq` stored (0 before the first message). */
  last(): number {
    if (this.lastSeq === undefined) this.lastSeq = this.store.lastChatSeq();
    return this.lastSeq;
  }

  /** Stores a message under the next `seq`; returns its row. */
  append(participantId: string, name: string, text: string, now: number): ChatRow {
    const row: ChatRow = { seq: this.last() + 1, id: crypto.randomUUID(), participantId, name, text, ts: now };
    this.store.appendChat(row);
    this.lastSeq = row.seq;
    return row;
  }

  /** A meeting just created (0) or just deleted (unknown): set without reading storage. */
  reset(lastSeq: 0 | undefined): void {
    this.lastSeq = lastSeq;
  }
}
