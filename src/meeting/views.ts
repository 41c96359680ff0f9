/**
 * Stored rows → the objects of API.md. Pure functions: presence comes in
 * from the socket registry (live-views.ts), so a view never reads storage on its own.
 */
import type { ChatMessageData, MeetingData, ParticipantData } from "../protocol/schemas";
import type { ChatRow, MeetingRow, ParticipantRow } from "./store";

export const iso = (ms: number) => new Date(ms).toISOString();

/** JWT `exp` has whole seconds; expiries we report are cut the same way so they match the token. */
export const wholeSeconds = (ms: number) => Math.floor(ms / 1000) * 1000;

export function participantView(p: ParticipantRow, connected: boolean): ParticipantData {
  return { id: p.id, name: p.name, role: p.role, connected, joinedAt: iso(p.joinedAt), state: p.state };
}

/**
 * `listed` is everyone neither left nor kicked. Once a meeting has ended only
 * its host is listed: everyone else's attendance ended with it.
 */
export function meetingView(
  m: MeetingRow,
  listed: ParticipantRow[],
  isConnected: (participantId: string) => boolean,
): MeetingData {
  const participants = m.status === "active" ? listed : listed.filter((p) => p.role === "host");
  return {
    id: m.id,
    title: m.title,
    status: m.status,
    scheduledAt: iso(m.scheduledAt),
    durationMinutes: m.durationMinutes,
    timezone: m.timezone,
    version: m.version,
    maxParticipants: m.maxParticipants,
    createdAt: iso(m.createdAt),
    updatedAt: iso(m.updatedAt),
    expiresAt: iso(m.expiresAt),
    participantCount: participants.length,
    participants: participants.map((p) => participantView(p, isConnected(p.id))),
  };
}

export function chatView(row: ChatRow): ChatMessageData {
  return {
    id: row.id,
    seq: row.seq,
    participantId: row.participantId,
    name: row.name,
    text: row.text,
    ts: iso(row.ts),
  };
}
