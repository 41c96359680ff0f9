/**
 * The live views of a meeting as one participant sees it (the meeting, its
 * participants, this participant, the chat, and for hosts the lobby), kept
 * from the server's events.
 * Pure: no socket, no emitting; each applied event says what the connection
 * should tell its listeners.
 */
import type {
  ChatMessageData,
  LobbyEntryData,
  MediaData,
  MeetingData,
  ParticipantData,
  ServerEventData,
  ServerEventMap,
} from "./types.js";

/** What an applied event means for the connection's listeners. */
export type ViewUpdate =
  /** Emit the event as it came. */
  | { kind: "event" }
  /** A chat message already seen (a replay after a reconnect): tell nobody. */
  | { kind: "duplicate" }
  /** A join on a new socket: emit it, then each missed message (none on the first join). */
  | { kind: "joined"; data: ServerEventMap["meeting:joined"]; firstJoin: boolean; missed: ChatMessageData[] }
  /** The server ends the connection for good: emit the event, then close with `reason`. */
  | { kind: "final"; reason: "kicked" | "terminated" | "replaced" };

export class MeetingViews {
  #meeting: MeetingData | undefined;
  #self: ParticipantData | undefined;
  readonly #chat: ChatMessageData[] = [];
  #lobby: LobbyEntryData[] = [];
  #lastSeq: number | undefined;
  #joinedOnce = false;
  #media: MediaData | undefined;

  /** `since`: the last chat `seq` already seen, so the join replays only later messages. */
  constructor(since?: number) {
    if (since !== undefined) {
      if (!Number.isSafeInteger(since) || since < 0) throw new TypeError("since: a non-negative integer");
      this.#lastSeq = since;
    }
  }

  get meeting(): MeetingData | undefined {
    return this.#meeting;
  }
  get self(): ParticipantData | undefined {
    return this.#self;
  }
  get participants(): readonly ParticipantData[] {
    return this.#meeting?.participants ?? [];
  }
  get chat(): readonly ChatMessageData[] {
    return this.#chat;
  }
  get lastSeq(): number | undefined {
    return this.#lastSeq;
  }
  /** Who waits in the lobby, first knock first (hosts only; empty for everyone else). */
  get lobby(): readonly LobbyEntryData[] {
    return this.#lobby;
  }

  get media(): MediaData | undefined {
    return this.#media;
  }

  apply(event: ServerEventData): ViewUpdate {
    switch (event.type) {
      case "meeting:joined":
        return this.#joined(event.data);
      case "chat:new-message":
        // A replay after a reconnect can repeat what arrived live just before the drop.
        if (this.#lastSeq !== undefined && event.data.seq <= this.#lastSeq) return { kind: "duplicate" };
        this.#chat.push(event.data);
        this.#lastSeq = event.data.seq;
        break;
      case "meeting:participant-joined":
        this.#updateParticipants((list) => [
          ...list.filter((p) => p.id !== event.data.participant.id),
          event.data.participant,
        ]);
        break;
      case "meeting:participant-left": {
        const { participantId, reason } = event.data;
        // A dropped socket and a host's leave keep the seat; a guest's leave or a kick gives it up.
        this.#updateParticipants((list) =>
          list.flatMap((p) =>
            p.id !== participantId
              ? [p]
              : reason === "disconnected" || p.role === "host"
                ? [{ ...p, connected: false }]
                : [],
          ),
        );
        break;
      }
      case "participant:updated":
        this.#updateParticipants((list) =>
          list.map((p) => (p.id === event.data.participantId ? { ...p, state: event.data.state } : p)),
        );
        break;
      case "meeting:datetime:changed":
        this.#meeting = event.data.meeting;
        break;
      case "meeting:kicked":
        return { kind: "final", reason: "kicked" };
      case "meeting:terminated":
        return { kind: "final", reason: "terminated" };
      case "session:replaced":
        return { kind: "final", reason: "replaced" };
      case "lobby:knock":
        // A knock repeated (a reconnect racing the join's list) is one person waiting.
        this.#lobby = [...this.#lobby.filter((entry) => entry.requestId !== event.data.requestId), event.data];
        break;
      case "lobby:left":
        this.#lobby = this.#lobby.filter((entry) => entry.requestId !== event.data.requestId);
        break;
      case "media:tracks":
        if (this.#media?.mode === "sfu") {
          const { [event.data.participantId]: _previous, ...others } = this.#media.tracks ?? {};
          const tracks =
            event.data.tracks.length > 0 ? { ...others, [event.data.participantId]: event.data.tracks } : others;
          this.#media = { mode: "sfu", tracks };
        }
        break;
      case "webrtc:offer":
      case "webrtc:answer":
      case "webrtc:ice-candidate":
      // A waiting guest's lobby socket (lobby-wait.ts) gets these; a meeting connection never does.
      case "lobby:waiting":
      case "lobby:admitted":
      case "lobby:denied":
        break;
      default:
        assertNever(event);
    }
    return { kind: "event" };
  }

  #joined(data: ServerEventMap["meeting:joined"]): ViewUpdate {
    const firstJoin = !this.#joinedOnce;
    const since = this.#lastSeq;
    const fresh = data.chat.filter((m) => since === undefined || m.seq > since).sort((a, b) => a.seq - b.seq);
    this.#meeting = data.meeting;
    this.#self = data.self;
    // Each join brings the whole lobby: knocks and leaves missed while away are in it.
    this.#lobby = [...(data.lobby ?? [])];
    this.#media = data.media;
    this.#joinedOnce = true;
    this.#chat.push(...fresh);
    this.#lastSeq = fresh.at(-1)?.seq ?? since ?? 0;
    // After a reconnect, what was missed arrives as ordinary messages, so a listener sees each once.
    return { kind: "joined", data, firstJoin, missed: firstJoin ? [] : fresh };
  }

  #updateParticipants(change: (list: ParticipantData[]) => ParticipantData[]): void {
    if (!this.#meeting) return;
    const participants = change(this.#meeting.participants);
    this.#meeting = { ...this.#meeting, participants, participantCount: participants.length };
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled server event ${JSON.stringify(value)}`);
}
