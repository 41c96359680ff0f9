/**
 * One soak participant: its socket (replaced on every reconnect), what it
 * received (chat seqs in arrival order, live and replayed; signals), what it
 * believes about everyone's presence, and the frames it still waits an
 * answer for. Everything the final checks need is recorded here.
 */
import WebSocket from "ws";

const CONNECT_TIMEOUT_MS = 30_000;

export class Participant {
  /**
   * @param {{ index: number, meeting: object, id: string, name: string, token: string, role: string, baseUrl: string }} init
   */
  constructor(init) {
    Object.assign(this, init);
    this.ws = null;
    /** True between `meeting:joined` and the socket's close. */
    this.open = false;
    /** Each connection: { opened, closed } (ms); a signal to an open connection that never closed must arrive. */
    this.connections = [];
    /** Every chat seq received, in arrival order, across all connections. */
    this.seqs = [];
    this.chatTexts = new Map(); // seq -> text
    this.lastSeq = 0;
    this.signalsReceived = []; // { id, from }
    /** participantId -> connected, from meeting:joined and the presence events. */
    this.presence = new Map();
    this.pending = new Map(); // frame id -> { resolve }
    this.errors = new Map(); // code -> count
    this.closeCodes = new Map(); // code -> count (as seen by this client)
    this.sent = { chat: 0, signal: 0 };
    this.counter = 0;
    this.reconnects = 0;
    /** Chat messages that arrived in a `meeting:joined` replay rather than live. */
    this.replayed = 0;
    this.echoLatencies = []; // ms from sending a chat to receiving it back
    this.sentAt = new Map(); // chat text -> ms
  }

  /** Opens a socket, resuming after `since` when given; resolves on `meeting:joined`. */
  connect(since) {
    const url = new URL(`/api/meetings/${this.meeting.id}/ws`, this.baseUrl.replace(/^http/, "ws"));
    url.searchParams.set("token", this.token);
    if (since !== undefined) url.searchParams.set("since", String(since));
    const ws = new WebSocket(url);
    this.ws = ws;
    const connection = { opened: 0, closed: null };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`${this.name}: no meeting:joined within ${CONNECT_TIMEOUT_MS} ms`));
      }, CONNECT_TIMEOUT_MS);
      ws.once("unexpected-response", (_req, res) => {
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(`${this.name}: upgrade refused with ${res.statusCode}`));
      });
      ws.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      ws.on("message", (data, isBinary) => {
        if (isBinary) return;
        const text = data.toString();
        if (!text.startsWith("{")) return;
        const frame = JSON.parse(text);
        this.receive(frame);
        if (frame.type === "meeting:joined") {
          clearTimeout(timer);
          connection.opened = Date.now();
          this.connections.push(connection);
          this.open = true;
          resolve();
        }
      });
      ws.on("close", (code) => {
        clearTimeout(timer);
        if (this.ws === ws) this.open = false;
        connection.closed = Date.now();
        this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
        for (const [id, waiter] of this.pending) {
          this.pending.delete(id);
          waiter.resolve({ type: "closed" });
        }
      });
    });
  }

  /** Closes the socket cleanly (close frame) or abruptly (TCP gone, no close frame); resolves once closed. */
  disconnect(how) {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    this.open = false;
    const closed = new Promise((resolve) => ws.once("close", resolve));
    if (how === "abrupt") ws.terminate();
    else ws.close(1000, "soak churn");
    return closed;
  }

  /** Sends a frame with an id; resolves with its ack or error (or `closed`). */
  request(frame) {
    const id = `${this.index}-${++this.counter}`;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
      this.ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  receive(frame) {
    switch (frame.type) {
      case "meeting:joined":
        for (const p of frame.data.meeting.participants) this.presence.set(p.id, p.connected);
        for (const message of frame.data.chat) this.chat(message);
        this.replayed += frame.data.chat.length;
        break;
      case "chat:new-message":
        this.chat(frame.data);
        break;
      case "meeting:participant-joined":
        this.presence.set(frame.data.participant.id, true);
        break;
      case "meeting:participant-left":
        if (frame.data.reason === "disconnected") this.presence.set(frame.data.participantId, false);
        else this.presence.delete(frame.data.participantId);
        break;
      case "webrtc:offer":
        this.signalsReceived.push({ id: frame.data.sdp, from: frame.data.from });
        break;
      case "ack":
      case "error": {
        if (frame.type === "error") this.errors.set(frame.error.code, (this.errors.get(frame.error.code) ?? 0) + 1);
        const waiter = this.pending.get(frame.id);
        if (waiter) {
          this.pending.delete(frame.id);
          waiter.resolve(frame);
        }
        break;
      }
      default:
        break;
    }
  }

  chat(message) {
    this.seqs.push(message.seq);
    this.chatTexts.set(message.seq, message.text);
    this.lastSeq = Math.max(this.lastSeq, message.seq);
    const sentAt = message.participantId === this.id ? this.sentAt.get(message.text) : undefined;
    if (sentAt !== undefined) {
      this.echoLatencies.push(Date.now() - sentAt);
      this.sentAt.delete(message.text);
    }
  }

  /** The connection open right now (the one a signal relayed now would reach), or null. */
  currentConnection() {
    const last = this.connections.at(-1);
    return this.open && last && last.closed === null ? last : null;
  }
}
