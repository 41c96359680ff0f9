/**
 * Participant state (audio, video, screen, hand) without a write per frame.
 * A connected participant's live state rides in its socket's attachment
 * (`SocketIdentity.state`), which survives hibernation and eviction with the
 * socket; storage catches up lazily: at most PRESENCE_FLUSH_MS after a
 * change, when the socket goes away, and on every alarm (which also covers
 * states that changed just before an eviction dropped the pending flush).
 * A flush writes only rows whose stored state differs, so toggling back and
 * forth within one interval writes nothing.
 */
import { log } from "../log";
import type { ParticipantStateData } from "../protocol/schemas";
import type { MeetingStore } from "./store";

/** How long an acknowledged change may live only in the attachment (a process restart loses at most this much). */
export const PRESENCE_FLUSH_MS = 1_000;

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

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly store: MeetingStore,
    /** Live states of connected participants, from their sockets' attachments. */
    private readonly liveStates: () => Iterable<[participantId: string, state: ParticipantStateData]>,
  ) {}

  /** A live state changed: make sure a flush follows soon. Several changes share one flush. */
  changed(): void {
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
      // A live state is retried by the next change, socket close or alarm; a closed socket's last change is lost.
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
    if (live.size === 0) return 0;
    const changed = this.store
      .listedParticipants()
      .filter((p) => live.has(p.id) && !sameState(p.state, live.get(p.id)!))
      .map((p) => [p.id, live.get(p.id)!] as const);
    if (changed.length > 0) {
      this.storage.transactionSync(() => {
        for (const [id, state] of changed) this.store.updateState(id, state);
      });
    }
    return changed.length;
  }

  /** The meeting is being deleted: nothing is left to write. */
  discard(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
