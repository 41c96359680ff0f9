/**
 * The meeting row, read once per instance and kept: every door needs it and
 * it changes only through this object's own writes. Its one owner; rule
 * modules `set` it after a committed write.
 */
import type { MeetingRow, MeetingStore } from "./store";

export class CachedMeeting {
  /** undefined: not read since this instance started; null: no meeting here. */
  private row: MeetingRow | null | undefined;

  constructor(private readonly store: MeetingStore) {}

  get(): MeetingRow | null {
    if (this.row === undefined) this.row = this.store.load();
    return this.row;
  }

  /** The row as just committed (null: deleted). */
  set(row: MeetingRow | null): void {
    this.row = row;
  }

  /** Reads storage again next time: after a write that may not have committed. */
  forget(): void {
    this.row = undefined;
  }
}
