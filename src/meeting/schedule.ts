/**
 * Rescheduling: the datetime edit that is MeetTime's point. Every accepted
 * change bumps `version`, moves the expiry (and the alarm) and reaches every
 * connected participant at once.
 */
import { AppError } from "../errors";
import { log } from "../log";
import type { DatetimeUpdateInput, MeetingData } from "../protocol/schemas";
import type { RoomContext } from "./context";
import { liveMeetingView } from "./live-views";
import { encodeEvent } from "./socket-registry";
import type { MeetingRow } from "./store";

export async function reschedule(
  room: RoomContext,
  meeting: MeetingRow,
  updatedBy: string,
  update: DatetimeUpdateInput,
  ifMatchVersion?: number,
): Promise<MeetingData> {
  // expectedVersion and If-Match are both preconditions: either one being stale refuses the change.
  const stale = [update.expectedVersion, ifMatchVersion].find((v) => v !== undefined && v !== meeting.version);
  if (stale !== undefined) {
    throw new AppError("VERSION_CONFLICT", `the meeting is at version ${meeting.version}, not ${stale}`, {
      meeting: liveMeetingView(room, meeting),
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
    expiresAt: scheduledAt + durationMinutes * 60_000 + room.config.meetingExpiryMs,
  };
  // Every step that can fail runs before the commit (a 503 must mean nothing changed): the alarm is
  // read first, the answer is built inside the write's transaction, and the alarm is re-armed in the
  // same synchronous block as the write, which cannot fail the request any more.
  await room.alarm.ready();
  const view = room.store.transaction(() => {
    room.store.updateSchedule(next);
    return liveMeetingView(room, next);
  });
  room.meeting.set(next);
  const armed = room.alarm.rearmAfterWrite();
  room.sockets.broadcast(encodeEvent({ type: "meeting:datetime:changed", data: { meeting: view, updatedBy } }));
  await armed;
  log("info", "meeting.rescheduled", { meetingId: room.meetingId, version: next.version });
  return view;
}
