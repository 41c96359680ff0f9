/**
 * Participant state (audio, video, screen, hand) without a write per frame.
 * A connected participant's live state rides in its socket's attachment
 * (`SocketIdentity.state`), which survives hibernation and eviction with the
 * socket, and is broadcast at once. Storage catches up in one transaction
 * for every change of the next PRESENCE_FLUSH_MS (and when a socket goes
 * away, and on every alarm, which also covers states that changed just
 * before an eviction dropped the pending flush). A change's ack is sent
 * after that write (and held by the output gate until it is durable), so
 * whatever a client saw acknowledged survives a crash. A flush writes only
 * rows whose stored state differs: toggling back and forth within one
 * interval writes nothing, and a participant costs at most one row write
 * per interval however fast it toggles.
 */
import { log } from "../log";
import type { ParticipantStateData } from "../protocol/schemas";
import type { MeetingStore } from "./store";

/** How long changes gather before their one write; also the longest a change's ack waits. */
export const PRESENCE_FLUSH_MS = 200;

export function sameState(a: ParticipantStateData, b: ParticipantStateData): boolean {
  return a.audio === b.audio && a.video === b.video && a.screen === b.screen && a.handRaised === b.handRaised;
}

/** `state` with `update` applied, or null when the update changes nothing. */
export function applyStateUpdate(
  state: ParticipantStateData,
  update: Partial<ParticipantStateData>,
): ParticipantStateData | null {
  const next = { ...state, ...update };
  return sameState(state, next) ? null : next;
}

export class PresenceWriter {
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Acks of changes not yet written; sent after the next successful flush. */
  private waiting: (() => void)[] = [];

  constructor(
    private readonly store: MeetingStore,
    /** Live states of connected participants, from their sockets' attachments. */
    private readonly liveStates: () => Iterable<[participantId: string, state: ParticipantStateData]>,
  ) {}

  /** A live state changed: a flush follows soon, shared with other changes; `written` runs after it. */
  changed(written: () => void): void {
    this.waiting.push(written);
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushQuietly();
    }, PRESENCE_FLUSH_MS);
  }

  /** `flush` for paths that must go on whatever storage says (a socket closing, a timer): a failure is logged. */
  flushQuietly(extra?: [participantId: string, state: ParticipantStateData]): void {
    try {
      this.flush(extra);
    } catch (error) {
      // A live state is retried (and its ack sent) by the next change, socket close or alarm;
      // a closed socket's last change is lost.
      log("warn", "meeting.presence_flush_failed", { error: String(error) });
    }
  }

  /**
   * Writes every live state (and `extra`, for a socket just taken out of the
   * registry) that differs from storage, in one transaction; returns how many
   * rows it wrote. One read of the listed participants, no write when nothing changed.
   */
  flush(extra?: [participantId: string, state: ParticipantStateData]): number {
    const live = new Map(this.liveStates());
    if (extra) live.set(extra[0], extra[1]);
    if (live.size === 0) return this.written(0);
    const changed = this.store
      .listedParticipants()
      .filter((p) => live.has(p.id) && !sameState(p.state, live.get(p.id)!))
      .map((p) => [p.id, live.get(p.id)!] as const);
    if (changed.length > 0) {
      this.store.transaction(() => {
        for (const [id, state] of changed) this.store.updateState(id, state);
      });
    }
    return this.written(changed.length);
  }

  /** Sends the acks that waited for this flush; the output gate holds them until the write is durable. */
  private written(rows: number): number {
    for (const send of this.waiting.splice(0)) send();
    return rows;
  }

  /** The meeting is being deleted (or, in tests, the instance evicted): nothing is left to write or ack. */
  discard(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting = [];
  }
}
