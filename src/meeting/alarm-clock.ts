/**
 * The object's one alarm, which serves three schedules: the meeting's expiry,
 * a liveness sweep every SWEEP_INTERVAL_MS while sockets are connected or
 * someone waits in the lobby, and the end of the earliest lobby wait.
 * An alarm that fires early is harmless: the handler re-reads state and
 * re-arms. While sockets are connected an earlier alarm is kept (a sweep due
 * sooner is not pushed back by every connect); without sockets the alarm is
 * exactly the expiry, so a reschedule or termination moves it either way.
 * The armed time is remembered, so arming again to the same time costs no
 * storage call.
 */
import type { CachedMeeting } from "./cached-meeting";
import type { SocketRegistry } from "./socket-registry";

export const SWEEP_INTERVAL_MS = 30_000;

export class AlarmClock {
  /** undefined: not read from storage yet; null: no alarm armed. */
  private armedAt: number | null | undefined;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly meeting: CachedMeeting,
    private readonly sockets: SocketRegistry,
    /** When the earliest lobby wait ends (lobby.ts), or null when nobody waits. */
    private readonly lobbyDeadline: () => number | null = () => null,
  ) {}

  /** Arms the alarm for the meeting's next due time; `socketComing`: a socket is about to be registered. */
  async schedule(socketComing = false): Promise<void> {
    const meeting = this.meeting.get();
    if (!meeting) return;
    const lobbyDue = this.lobbyDeadline();
    const sweeping = socketComing || this.sockets.size > 0 || lobbyDue !== null;
    let target = sweeping ? Math.min(meeting.expiresAt, Date.now() + SWEEP_INTERVAL_MS) : meeting.expiresAt;
    if (lobbyDue !== null) target = Math.min(target, lobbyDue);
    if (this.armedAt === undefined) this.armedAt = await this.storage.getAlarm();
    if (this.armedAt !== null && (this.armedAt === target || (sweeping && this.armedAt < target))) return;
    this.armedAt = target;
    await this.storage.setAlarm(target);
  }

  /** A fresh object has no alarm: arms it without asking storage first. */
  armFresh(at: number): Promise<void> {
    this.armedAt = at;
    return this.storage.setAlarm(at);
  }

  /** Makes the alarm fire at once (a meeting found past its expiry is deleted by it). */
  fireNow(): void {
    void this.storage.setAlarm(Date.now());
    this.armedAt = undefined;
  }

  /** The alarm fired, or was deleted with the meeting: whatever runs next arms it again. */
  spent(): void {
    this.armedAt = null;
  }

  /** Not known any more (a write that armed it may not have committed): read storage next time. */
  forget(): void {
    this.armedAt = undefined;
  }
}
