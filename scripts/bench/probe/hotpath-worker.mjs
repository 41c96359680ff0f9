/**
 * Probe worker for hotpath-costs.mjs: a Durable Object that runs one piece of
 * the chat hot path `n` times per request, using MeetTime's own modules, so
 * the piece's CPU inside workerd can be read from /proc by the caller.
 * Sockets are stand-ins that accept send() and do nothing: what is measured
 * is the JavaScript around each send, not the runtime's send itself.
 * Plain JavaScript (bundled by esbuild, which also compiles the imported
 * TypeScript), so the Node-side typecheck has no Workers types to resolve.
 */
import { DurableObject } from "cloudflare:workers";
import { parseClientFrame } from "../../../src/meeting/frames";
import { encodeEvent, SocketRegistry } from "../../../src/meeting/socket-registry";
import { DEFAULT_STATE, MeetingStore } from "../../../src/meeting/store";
import { FrameRateLimits } from "../../../src/ratelimit/frame-buckets";

const RECIPIENTS = 200;
const FRAME = JSON.stringify({ type: "chat:message", data: { text: "bench message #1234" } });

class StandInSocket {
  attachment = null;
  sent = 0;
  send(_frame) {
    this.sent++;
  }
  serializeAttachment(value) {
    this.attachment = value;
  }
  deserializeAttachment() {
    return this.attachment;
  }
}

export class HotPathProbe extends DurableObject {
  store = new MeetingStore(this.ctx.storage);
  registry = new SocketRegistry([]);
  sockets = [];
  limits = new FrameRateLimits();
  seq = 0;

  /** 200 stand-in sockets and a meeting with its schema, made on first use. */
  setUp() {
    if (this.sockets.length > 0) return;
    const now = Date.now();
    for (let i = 0; i < RECIPIENTS; i++) {
      const ws = new StandInSocket();
      this.sockets.push(ws);
      this.registry.add(ws, {
        participantId: crypto.randomUUID(),
        role: "participant",
        name: `Guest ${i}`,
        connectedAt: now,
      });
    }
    if (!this.store.load()) this.createMeeting(now);
  }

  /** What MeetingRoom.create writes: the schema, the meeting and its host, in one transaction. */
  createMeeting(now) {
    this.store.create(
      {
        id: "probe",
        title: "Probe",
        status: "active",
        scheduledAt: now,
        durationMinutes: 60,
        timezone: "UTC",
        version: 1,
        maxParticipants: RECIPIENTS,
        hostId: "host",
        createdAt: now,
        updatedAt: now,
        endedAt: null,
        expiresAt: now + 86_400_000,
      },
      {
        id: "host",
        name: "Host",
        role: "host",
        joinedAt: now,
        state: DEFAULT_STATE,
        removedAt: null,
        removedReason: null,
      },
    );
  }

  chatRow(text) {
    this.seq++;
    return { seq: this.seq, id: crypto.randomUUID(), participantId: "p", name: "Guest 1", text, ts: Date.now() };
  }

  /** One operation each; hotpath-costs.mjs reports them by these names. */
  ops = {
    empty: () => {},
    parse: () => {
      parseClientFrame(FRAME);
    },
    rateLimit: () => {
      this.limits.allow("p", "chat:message", 0);
    },
    uuid: () => {
      crypto.randomUUID();
    },
    isoTime: () => {
      new Date(Date.now()).toISOString();
    },
    encode: () => {
      const row = this.chatRow("bench message #1234");
      encodeEvent({ type: "chat:new-message", data: { ...row, ts: new Date(row.ts).toISOString() } });
    },
    insert: () => {
      this.store.appendChat(this.chatRow("bench message #1234"));
    },
    broadcastMap: () => {
      this.registry.broadcast("frame");
    },
    broadcastArray: () => {
      for (const ws of this.sockets) {
        try {
          ws.send("frame");
        } catch {
          // as sendQuietly
        }
      }
    },
    /** Everything relayChat and webSocketMessage do per chat message, but with stand-in sends. */
    wholeMessage: () => {
      const parsed = parseClientFrame(FRAME);
      if (!parsed.ok || parsed.frame.type !== "chat:message") throw new Error("probe frame did not parse");
      this.limits.allow("p", parsed.frame.type, 0);
      const row = this.chatRow(parsed.frame.data.text);
      this.store.appendChat(row);
      this.registry.broadcast(
        encodeEvent({ type: "chat:new-message", data: { ...row, ts: new Date(row.ts).toISOString() } }),
      );
    },
  };

  async fetch(request) {
    const url = new URL(request.url);
    const name = url.searchParams.get("op") ?? "";
    // A fresh object's first request: nothing, or what creating a meeting stores.
    if (name === "touchNothing") return new Response("ok");
    if (name === "createSchema") {
      if (!this.store.load()) this.createMeeting(Date.now());
      return new Response("ok");
    }
    const op = this.ops[name];
    if (!op) return new Response(`ops: ${Object.keys(this.ops).join(" ")}`, { status: 404 });
    this.setUp();
    const n = Number(url.searchParams.get("n"));
    for (let i = 0; i < n; i++) op();
    return new Response("ok");
  }
}

/** Hot-path ops run n times in one object; `newObject*` ops create n new objects, one request each. */
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const op = url.searchParams.get("op") ?? "";
    if (op === "newObject" || op === "newObjectWithSchema") {
      const inner = op === "newObject" ? "touchNothing" : "createSchema";
      for (let i = 0, n = Number(url.searchParams.get("n")); i < n; i++) {
        await (await env.PROBE.get(env.PROBE.newUniqueId()).fetch(`http://probe/?op=${inner}`)).text();
      }
      return new Response("ok");
    }
    return env.PROBE.get(env.PROBE.idFromName("probe")).fetch(request);
  },
};
