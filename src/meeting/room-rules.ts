/**
 * Meeting rules shared by REST and WebSocket callers (reschedule, kick,
 * leave), and the alarm that expires the meeting, sweeps silent sockets and
 * cleans spent rows.
 */
import { AppError } from "../errors";
import { log } from "../log";
import { CLOSE } from "../protocol/close-codes";
import type { DatetimeUpdateInput, KickInput, MeetingData } from "../protocol/schemas";
import { collectSpentRows } from "./housekeeping";
import { MeetingState, SILENCE_LIMIT_MS } from "./room-state";
import { closeQuietly, encodeEvent, sendQuietly } from "./sockets";
import type { MeetingRow, ParticipantRow } from "./store";

export abstract class MeetingRules extends MeetingState {
  protected async reschedule(
    meeting: MeetingRow,
    updatedBy: string,
    update: DatetimeUpdateInput,
    ifMatchVersion?: number,
  ): Promise<MeetingData> {
    // expectedVersion and If-Match are both preconditions: either one being stale refuses the change.
    const stale = [update.expectedVersion, ifMatchVersion].find((v) => v !== undefined && v !== meeting.version);
    if (stale !== undefined) {
      throw new AppError("VERSION_CONFLICT", `the meeting is at version ${meeting.version}, not ${stale}`, {
        meeting: this.meetingView(meeting),
      });
    }
    const scheduledAt = update.scheduledAt ?? meeting.scheduledAt;
    const durationMinutes = update.durationMinutes ?? meeting.durationMinutes;
    const now = Date.now();
    const next: MeetingRow = {
      ...meeting,
      scheduledAt,
      durationMinutes,
      timezone: update.timezone ?? meeting.timezone,
      version: meeting.version + 1,
      updatedAt: now,
      expiresAt: scheduledAt + durationMinutes * 60_000 + this.config.meetingExpiryMs,
    };
    this.store.updateSchedule(next);
    this.cachedMeeting = next;
    const view = this.meetingView(next);
    this.sockets.broadcast(encodeEvent({ type: "meeting:datetime:changed", data: { meeting: view, updatedBy } }));
    await this.scheduleAlarm();
    log("info", "meeting.rescheduled", { meetingId: meeting.id, version: next.version });
    return view;
  }

  protected kickParticipant(hostId: string, { participantId, reason }: KickInput): string {
    if (participantId === hostId) throw new AppError("VALIDATION_FAILED", "the host cannot kick itself");
    const target = this.store.participant(participantId);
    if (!target || target.removedAt !== null) throw new AppError("NOT_FOUND", "no such participant in this meeting");
    this.store.removeParticipant(target.id, "kicked", Date.now());
    this.rateLimits.forget(target.id);
    const ws = this.sockets.retire(target.id);
    if (ws) {
      sendQuietly(ws, encodeEvent({ type: "meeting:kicked", data: { reason: reason || "removed by the host" } }));
      closeQuietly(ws, CLOSE.KICKED, "kicked");
    }
    this.announceLeft(participantId, "kicked");
    log("info", "meeting.kicked", { meetingId: this.meeting()?.id, participantId });
    return participantId;
  }

  /** The host stays listed and may come back; anyone else is removed and their session revoked. */
  protected leaveMeeting(participant: ParticipantRow): string {
    const isHost = participant.role === "host";
    if (!isHost) {
      this.store.removeParticipant(participant.id, "left", Date.now());
      this.rateLimits.forget(participant.id);
    }
    const ws = this.retireKeepingState(participant.id);
    if (ws) closeQuietly(ws, CLOSE.NORMAL, "left");
    if (ws || !isHost) {
      this.announceLeft(participant.id, "left");
    }
    log("info", "meeting.left", { meetingId: this.meeting()?.id, participantId: participant.id });
    return participant.id;
  }

  // ------------------------------------------------------------------ alarm: expiry and liveness

  async alarm(): Promise<void> {
    this.alarmAt = null; // This alarm is spent; whatever runs next re-arms it.
    const meeting = this.meeting();
    if (!meeting) return;
    const now = Date.now();
    if (now >= meeting.expiresAt) {
      await this.expire(meeting);
      return;
    }
    // States changed just before an eviction (whose pending flush died with it) are written here at the latest.
    this.presence.flushQuietly();
    this.sweepSilentSockets(now);
    this.store.transaction(() => collectSpentRows(this.store, now, this.config.tokenExpiryMs));
    await this.scheduleAlarm();
  }

  protected sweepSilentSockets(now: number): void {
    for (const ws of [...this.sockets.sockets()]) {
      const lastPing = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      const lastHeard = Math.max(lastPing, this.sockets.lastActivityAt(ws));
      if (now - lastHeard > SILENCE_LIMIT_MS) this.disconnect(ws, CLOSE.SILENT, "no heartbeat");
    }
  }

  /** Deletes the meeting: sockets closed, every row and the alarm gone. Safe to run twice. */
  protected async expire(meeting: MeetingRow): Promise<void> {
    this.presence.discard();
    this.closeAll(CLOSE.TERMINATED, "meeting expired");
    await this.store.deleteEverything();
    this.cachedMeeting = null;
    this.lastSeq = undefined;
    this.alarmAt = null;
    log("info", "meeting.expired", { meetingId: meeting.id });
    this.metrics.count("meeting_expired", { meetingId: meeting.id });
  }
}
