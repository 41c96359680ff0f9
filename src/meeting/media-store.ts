/**
 * Who holds which SFU session and which tracks (contract 1.2), in the
 * meeting's SQLite (tables made by store.ts's migrations). A participant
 * has at most one session; its tracks are the ones it publishes (with the
 * name, kind and screen flag everyone sees) and the ones it pulls (with the
 * publisher), each by its mid on the participant's own PeerConnection. SFU
 * session ids stay in here and in the worker's calls to the SFU: no answer
 * or frame carries them.
 */
import type { PublishedTrackData } from "../protocol/schemas";

export interface PublishedTrackRow extends PublishedTrackData {
  mid: string;
}

export interface PulledTrackRow {
  mid: string;
  publisherId: string;
  trackName: string;
}

/** A session's tracks to close at the SFU. */
export interface SessionMids {
  sessionId: string;
  mids: string[];
}

type SqlRow = Record<string, SqlStorageValue>;

function toPublished(row: SqlRow): PublishedTrackRow {
  const track: PublishedTrackRow = {
    mid: row.mid as string,
    trackName: row.track_name as string,
    kind: row.kind === "video" ? "video" : "audio",
  };
  if (row.screen === 1) track.screen = true;
  return track;
}

export class MediaStore {
  constructor(private readonly sql: SqlStorage) {}

  sessionOf(participantId: string): string | null {
    const row = this.sql.exec(`SELECT session_id FROM media_session WHERE participant_id = ?`, participantId).toArray();
    return (row[0]?.session_id as string | undefined) ?? null;
  }

  /** Every session with its tracks' mids, for closing them all (termination, expiry). */
  allSessions(): SessionMids[] {
    const sessions = this.sql.exec(`SELECT participant_id, session_id FROM media_session`).toArray();
    return sessions.map((row) => ({
      sessionId: row.session_id as string,
      mids: this.mids(row.participant_id as string, "all"),
    }));
  }

  mids(participantId: string, which: "published" | "all"): string[] {
    const rows =
      which === "all"
        ? this.sql.exec(`SELECT mid FROM media_track WHERE participant_id = ? ORDER BY rowid`, participantId)
        : this.sql.exec(
            `SELECT mid FROM media_track WHERE participant_id = ? AND direction = 'publish' ORDER BY rowid`,
            participantId,
          );
    return rows.toArray().map((row) => row.mid as string);
  }

  /** The participant's published tracks, oldest first. */
  published(participantId: string): PublishedTrackRow[] {
    return this.sql
      .exec(
        `SELECT mid, track_name, kind, screen FROM media_track
         WHERE participant_id = ? AND direction = 'publish' ORDER BY rowid`,
        participantId,
      )
      .toArray()
      .map(toPublished);
  }

  /** Everyone's published tracks, by participant (only those who publish). */
  allPublished(): Map<string, PublishedTrackRow[]> {
    const byParticipant = new Map<string, PublishedTrackRow[]>();
    const rows = this.sql
      .exec(
        `SELECT participant_id, mid, track_name, kind, screen FROM media_track
         WHERE direction = 'publish' ORDER BY rowid`,
      )
      .toArray();
    for (const row of rows) {
      const id = row.participant_id as string;
      const list = byParticipant.get(id) ?? [];
      list.push(toPublished(row));
      byParticipant.set(id, list);
    }
    return byParticipant;
  }

  /** A new session for the participant: the old one's rows go (the caller closes its tracks first). */
  replaceSession(participantId: string, sessionId: string): void {
    this.forget(participantId);
    this.sql.exec(`INSERT INTO media_session (participant_id, session_id) VALUES (?, ?)`, participantId, sessionId);
  }

  addPublished(participantId: string, tracks: PublishedTrackRow[]): void {
    for (const track of tracks) {
      this.sql.exec(
        `INSERT OR REPLACE INTO media_track (participant_id, mid, direction, track_name, kind, screen)
         VALUES (?, ?, 'publish', ?, ?, ?)`,
        participantId,
        track.mid,
        track.trackName,
        track.kind,
        Number(track.screen === true),
      );
    }
  }

  addPulled(participantId: string, tracks: PulledTrackRow[]): void {
    for (const track of tracks) {
      this.sql.exec(
        `INSERT OR REPLACE INTO media_track (participant_id, mid, direction, track_name, publisher_id)
         VALUES (?, ?, 'pull', ?, ?)`,
        participantId,
        track.mid,
        track.trackName,
        track.publisherId,
      );
    }
  }

  /**
   * Drops tracks by mid, and others' pulls of the published ones; true when
   * one of them was published (everyone else must hear of it).
   */
  removeTracks(participantId: string, mids: string[]): boolean {
    let published = false;
    for (const mid of mids) {
      const row = this.sql
        .exec(
          `DELETE FROM media_track WHERE participant_id = ? AND mid = ? RETURNING direction, track_name`,
          participantId,
          mid,
        )
        .toArray()[0];
      if (row?.direction !== "publish") continue;
      published = true;
      this.sql.exec(`DELETE FROM media_track WHERE publisher_id = ? AND track_name = ?`, participantId, row.track_name);
    }
    return published;
  }

  /**
   * Withdraws what a participant publishes: its published rows, and others'
   * pulls of them (dead at the SFU once the source closes, so they need no
   * close of their own). Returns the published mids.
   */
  withdrawPublished(participantId: string): string[] {
    const mids = this.mids(participantId, "published");
    this.sql.exec(`DELETE FROM media_track WHERE participant_id = ? AND direction = 'publish'`, participantId);
    this.sql.exec(`DELETE FROM media_track WHERE publisher_id = ?`, participantId);
    return mids;
  }

  /** Forgets a participant's session and every track of it, and others' pulls of its tracks. */
  forget(participantId: string): void {
    this.sql.exec(`DELETE FROM media_track WHERE participant_id = ? OR publisher_id = ?`, participantId, participantId);
    this.sql.exec(`DELETE FROM media_session WHERE participant_id = ?`, participantId);
  }

  forgetAll(): void {
    this.sql.exec(`DELETE FROM media_track`);
    this.sql.exec(`DELETE FROM media_session`);
  }
}
