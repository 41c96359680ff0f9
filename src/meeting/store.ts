/**
 * The meeting's SQLite storage: schema, migrations and every query, with
 * bound parameters only. One Durable Object holds exactly one meeting.
 * Nothing is written until `create`, so an id that was never created
 * stays without a database.
 */
import type { MediaModeData, ParticipantStateData } from "../protocol/schemas";

/** Each entry moves the schema one version on; never edit a shipped entry, append. */
const MIGRATIONS: string[] = [
  `CREATE TABLE meeting (
     id TEXT PRIMARY KEY,
     title TEXT NOT NULL,
     status TEXT NOT NULL,
     scheduled_at INTEGER NOT NULL,
     duration_minutes INTEGER NOT NULL,
     timezone TEXT NOT NULL,
     version INTEGER NOT NULL,
     max_participants INTEGER NOT NULL,
     host_id TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     ended_at INTEGER,
     expires_at INTEGER NOT NULL
   );
   CREATE TABLE participant (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     role TEXT NOT NULL,
     joined_at INTEGER NOT NULL,
     audio INTEGER NOT NULL,
     video INTEGER NOT NULL,
     screen INTEGER NOT NULL,
     hand_raised INTEGER NOT NULL,
     removed_at INTEGER,
     removed_reason TEXT
   );
   CREATE TABLE join_token (
     id TEXT PRIMARY KEY,
     name TEXT,
     expires_at INTEGER NOT NULL,
     redeemed_at INTEGER,
     participant_id TEXT
   );
   CREATE TABLE chat (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL,
     participant_id TEXT NOT NULL,
     name TEXT NOT NULL,
     text TEXT NOT NULL,
     ts INTEGER NOT NULL
   );`,
  // Contract 1.2: the meeting's media mode, and who holds which SFU session and tracks (media-store.ts).
  `ALTER TABLE meeting ADD COLUMN media_mode TEXT NOT NULL DEFAULT 'mesh';
   CREATE TABLE media_session (
     participant_id TEXT PRIMARY KEY,
     session_id TEXT NOT NULL
   );
   CREATE TABLE media_track (
     participant_id TEXT NOT NULL,
     mid TEXT NOT NULL,
     direction TEXT NOT NULL,
     track_name TEXT NOT NULL,
     kind TEXT,
     screen INTEGER NOT NULL DEFAULT 0,
     publisher_id TEXT,
     PRIMARY KEY (participant_id, mid)
   );`,
];

const SCHEMA_VERSION = MIGRATIONS.length;

/** How many chat messages a meeting keeps at least, and how many more before a trim. */
export const CHAT_KEEP = 500;
const CHAT_TRIM_EVERY = 100;

export interface MeetingRow {
  id: string;
  title: string;
  status: "active" | "ended";
  scheduledAt: number;
  durationMinutes: number;
  timezone: string;
  version: number;
  maxParticipants: number;
  hostId: string;
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
  expiresAt: number;
  /** Fixed at creation (contract 1.2); meetings stored before 1.2 read as `mesh`. */
  mediaMode: MediaModeData;
}

export type RemovalReason = "left" | "kicked";

export interface ParticipantRow {
  id: string;
  name: string;
  role: "host" | "participant";
  joinedAt: number;
  state: ParticipantStateData;
  removedAt: number | null;
  removedReason: RemovalReason | null;
}

export interface JoinTokenRow {
  id: string;
  expiresAt: number;
  redeemedAt: number | null;
}

export interface ChatRow {
  seq: number;
  id: string;
  participantId: string;
  name: string;
  text: string;
  ts: number;
}

/** An invite that still counts against INVITE_LIMIT: neither redeemed nor expired (bind `now`). */
const OUTSTANDING_INVITE = "redeemed_at IS NULL AND expires_at > ?";

export const DEFAULT_STATE: ParticipantStateData = { audio: true, video: true, screen: false, handRaised: false };

type SqlRow = Record<string, SqlStorageValue>;

function toMeeting(row: SqlRow): MeetingRow {
  return {
    id: row.id as string,
    title: row.title as string,
    status: row.status as MeetingRow["status"],
    scheduledAt: row.scheduled_at as number,
    durationMinutes: row.duration_minutes as number,
    timezone: row.timezone as string,
    version: row.version as number,
    maxParticipants: row.max_participants as number,
    hostId: row.host_id as string,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
    endedAt: row.ended_at as number | null,
    expiresAt: row.expires_at as number,
    mediaMode: row.media_mode === "sfu" ? "sfu" : "mesh",
  };
}

function toParticipant(row: SqlRow): ParticipantRow {
  return {
    id: row.id as string,
    name: row.name as string,
    role: row.role as ParticipantRow["role"],
    joinedAt: row.joined_at as number,
    state: {
      audio: row.audio === 1,
      video: row.video === 1,
      screen: row.screen === 1,
      handRaised: row.hand_raised === 1,
    },
    removedAt: row.removed_at as number | null,
    removedReason: row.removed_reason as RemovalReason | null,
  };
}

function toChat(row: SqlRow): ChatRow {
  return {
    seq: row.seq as number,
    id: row.id as string,
    participantId: row.participant_id as string,
    name: row.name as string,
    text: row.text as string,
    ts: row.ts as number,
  };
}

export class MeetingStore {
  /**
   * The listed participants as last read, kept because every token route
   * reads them (the holder's row, the meeting view): issue 11. Dropped on
   * every write to a listed participant and when a transaction fails, so it
   * is only ever rebuilt from committed rows; frozen, as every caller shares it.
   */
  private listed: readonly ParticipantRow[] | undefined;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly sql = storage.sql,
  ) {}

  /** `transactionSync`, forgetting what it may have cached from writes it rolled back. */
  transaction<T>(run: () => T): T {
    try {
      return this.storage.transactionSync(run);
    } catch (error) {
      this.listed = undefined;
      throw error;
    }
  }

  /** Creates the schema and the meeting with its host, in one transaction. */
  create(meeting: MeetingRow, host: ParticipantRow): void {
    this.transaction(() => {
      this.sql.exec(MIGRATIONS.join(";\n"));
      this.sql.exec(`CREATE TABLE schema_version (version INTEGER NOT NULL)`);
      this.sql.exec(`INSERT INTO schema_version (version) VALUES (?)`, SCHEMA_VERSION);
      this.insertMeeting(meeting);
      this.insertParticipant(host);
    });
  }

  /** The meeting, or null when this object holds none (never created, or expired and deleted). */
  load(): MeetingRow | null {
    const exists = this.sql
      .exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`)
      .toArray().length;
    if (!exists) return null;
    this.migrate();
    const row = this.sql.exec(`SELECT * FROM meeting LIMIT 1`).toArray()[0];
    return row ? toMeeting(row) : null;
  }

  private migrate(): void {
    const current = this.sql.exec(`SELECT version FROM schema_version`).one().version as number;
    if (current >= SCHEMA_VERSION) return;
    this.transaction(() => {
      for (const migration of MIGRATIONS.slice(current)) this.sql.exec(migration);
      this.sql.exec(`UPDATE schema_version SET version = ?`, SCHEMA_VERSION);
    });
  }

  private insertMeeting(m: MeetingRow): void {
    this.sql.exec(
      `INSERT INTO meeting (id, title, status, scheduled_at, duration_minutes, timezone, version, max_participants,
         host_id, created_at, updated_at, ended_at, expires_at, media_mode)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      m.id,
      m.title,
      m.status,
      m.scheduledAt,
      m.durationMinutes,
      m.timezone,
      m.version,
      m.maxParticipants,
      m.hostId,
      m.createdAt,
      m.updatedAt,
      m.endedAt,
      m.expiresAt,
      m.mediaMode,
    );
  }

  updateSchedule(m: MeetingRow): void {
    this.sql.exec(
      `UPDATE meeting SET scheduled_at = ?, duration_minutes = ?, timezone = ?, version = ?, updated_at = ?, expires_at = ?`,
      m.scheduledAt,
      m.durationMinutes,
      m.timezone,
      m.version,
      m.updatedAt,
      m.expiresAt,
    );
  }

  markEnded(m: MeetingRow): void {
    this.sql.exec(
      `UPDATE meeting SET status = 'ended', ended_at = ?, updated_at = ?, expires_at = ?`,
      m.endedAt,
      m.updatedAt,
      m.expiresAt,
    );
  }

  insertParticipant(p: ParticipantRow): void {
    this.listed = undefined;
    this.sql.exec(
      `INSERT INTO participant (id, name, role, joined_at, audio, video, screen, hand_raised, removed_at, removed_reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`,
      p.id,
      p.name,
      p.role,
      p.joinedAt,
      Number(p.state.audio),
      Number(p.state.video),
      Number(p.state.screen),
      Number(p.state.handRaised),
    );
  }

  /** A listed participant from memory; a removed one (or anyone, before the first listing) from storage. */
  participant(id: string): ParticipantRow | null {
    const listed = this.listed?.find((p) => p.id === id);
    if (listed) return listed;
    const row = this.sql.exec(`SELECT * FROM participant WHERE id = ?`, id).toArray()[0];
    return row ? toParticipant(row) : null;
  }

  /** Everyone listed: joined and neither left nor kicked, oldest first. */
  listedParticipants(): readonly ParticipantRow[] {
    this.listed ??= Object.freeze(
      this.sql
        .exec(`SELECT * FROM participant WHERE removed_at IS NULL ORDER BY joined_at, rowid`)
        .toArray()
        .map((row) => Object.freeze(toParticipant(row))),
    );
    return this.listed;
  }

  listedCount(): number {
    return this.sql.exec(`SELECT COUNT(*) AS n FROM participant WHERE removed_at IS NULL`).one().n as number;
  }

  removeParticipant(id: string, reason: RemovalReason, at: number): void {
    this.listed = undefined;
    this.sql.exec(`UPDATE participant SET removed_at = ?, removed_reason = ? WHERE id = ?`, at, reason, id);
  }

  updateState(id: string, state: ParticipantStateData): void {
    this.listed = undefined;
    this.sql.exec(
      `UPDATE participant SET audio = ?, video = ?, screen = ?, hand_raised = ? WHERE id = ?`,
      Number(state.audio),
      Number(state.video),
      Number(state.screen),
      Number(state.handRaised),
      id,
    );
  }

  insertJoinTokens(tokens: { id: string; name: string | null; expiresAt: number }[]): void {
    for (const token of tokens) {
      this.sql.exec(
        `INSERT INTO join_token (id, name, expires_at) VALUES (?, ?, ?)`,
        token.id,
        token.name,
        token.expiresAt,
      );
    }
  }

  joinToken(id: string): JoinTokenRow | null {
    const row = this.sql.exec(`SELECT id, expires_at, redeemed_at FROM join_token WHERE id = ?`, id).toArray()[0];
    return row
      ? { id: row.id as string, expiresAt: row.expires_at as number, redeemedAt: row.redeemed_at as number | null }
      : null;
  }

  redeemJoinToken(id: string, participantId: string, at: number): void {
    this.sql.exec(`UPDATE join_token SET redeemed_at = ?, participant_id = ? WHERE id = ?`, at, participantId, id);
  }

  /** Join tokens neither redeemed nor expired: what the INVITE_LIMIT counts. */
  outstandingInvites(now: number): number {
    return this.sql.exec(`SELECT COUNT(*) AS n FROM join_token WHERE ${OUTSTANDING_INVITE}`, now).one().n as number;
  }

  /**
   * Deletes rows nothing needs any more (see `MeetingRoom.collectSpentRows`
   * for why these bounds): join tokens that expired before `tokensExpiredBy`,
   * redeemed or not, and participants removed before `removedBy`. Returns
   * how many rows went; the caller runs it in a transaction.
   */
  deleteSpentRows(tokensExpiredBy: number, removedBy: number): number {
    // Only removed participants go, none of them listed: the kept list stands.
    const tokens = this.sql.exec(`DELETE FROM join_token WHERE expires_at <= ?`, tokensExpiredBy).rowsWritten;
    const participants = this.sql.exec(
      `DELETE FROM participant WHERE removed_at IS NOT NULL AND removed_at <= ?`,
      removedBy,
    ).rowsWritten;
    return tokens + participants;
  }

  /** Row counts of the tables that grow, named as the host's stats report them. */
  rowCounts(now: number): { participantsStored: number; joinTokensStored: number; outstandingInvites: number } {
    const row = this.sql
      .exec(
        `SELECT (SELECT COUNT(*) FROM participant) AS participants,
                (SELECT COUNT(*) FROM join_token) AS join_tokens,
                (SELECT COUNT(*) FROM join_token WHERE ${OUTSTANDING_INVITE}) AS outstanding`,
        now,
      )
      .one();
    return {
      participantsStored: row.participants as number,
      joinTokensStored: row.join_tokens as number,
      outstandingInvites: row.outstanding as number,
    };
  }

  lastChatSeq(): number {
    return (this.sql.exec(`SELECT MAX(seq) AS seq FROM chat`).one().seq as number | null) ?? 0;
  }

  /** Stores a message and, every hundred messages, trims history to the last CHAT_KEEP. */
  appendChat(message: ChatRow): void {
    this.sql.exec(
      `INSERT INTO chat (seq, id, participant_id, name, text, ts) VALUES (?, ?, ?, ?, ?, ?)`,
      message.seq,
      message.id,
      message.participantId,
      message.name,
      message.text,
      message.ts,
    );
    if (message.seq % CHAT_TRIM_EVERY === 0) {
      this.sql.exec(`DELETE FROM chat WHERE seq <= ?`, message.seq - CHAT_KEEP);
    }
  }

  /** Chat after `since` (all stored), or the newest `limit` messages; oldest first either way. */
  chatHistory(since: number | undefined, limit: number): ChatRow[] {
    const rows =
      since === undefined
        ? this.sql.exec(`SELECT * FROM (SELECT * FROM chat ORDER BY seq DESC LIMIT ?) ORDER BY seq`, limit)
        : this.sql.exec(`SELECT * FROM chat WHERE seq > ? ORDER BY seq`, since);
    return rows.toArray().map(toChat);
  }

  chatCount(): number {
    return this.sql.exec(`SELECT COUNT(*) AS n FROM chat`).one().n as number;
  }

  /** Deletes every row, the alarm included: what an expired meeting leaves behind is nothing. */
  async deleteEverything(): Promise<void> {
    this.listed = undefined;
    await this.storage.deleteAlarm();
    await this.storage.deleteAll();
  }
}
