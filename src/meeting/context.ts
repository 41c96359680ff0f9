/**
 * What a rule module receives: the meeting object's collaborators, each the
 * one owner of its state. Built once per instance by `MeetingRoom`; nothing
 * here is a rule. After a wake everything is rebuilt from storage and the
 * sockets' attachments, so no field matters only in memory (the frame
 * buckets and the relay count are meant to be per instance).
 */
import { type Config, loadConfig } from "../config";
import type { Env } from "../env";
import { ServiceMetrics } from "../metrics";
import { FrameRateLimits } from "../ratelimit/frame-buckets";
import { AlarmClock } from "./alarm-clock";
import { CachedMeeting } from "./cached-meeting";
import { ChatLog } from "./chat-log";
import { MeetingCredentials } from "./credentials";
import { MediaStore } from "./media-store";
import { PresenceWriter } from "./presence";
import { SocketRegistry } from "./socket-registry";
import { MeetingStore } from "./store";

/** Frames relayed (chat, signaling, state updates) since this instance started: in memory only, for stats. */
export interface RelayCount {
  frames: number;
  readonly since: number;
}

export class RoomContext {
  /** The meeting id is the object's id: known without reading storage, and the one spelling in logs. */
  readonly meetingId: string;
  readonly store: MeetingStore;
  readonly sockets: SocketRegistry;
  readonly meeting: CachedMeeting;
  readonly chat: ChatLog;
  readonly alarm: AlarmClock;
  /** Lazy persistence of participant state (presence.ts). */
  readonly presence: PresenceWriter;
  readonly frameLimits = new FrameRateLimits();
  readonly credentials: MeetingCredentials;
  /** SFU sessions and tracks (contract 1.2). */
  readonly media: MediaStore;
  readonly relayed: RelayCount = { frames: 0, since: Date.now() };
  metrics: ServiceMetrics;

  constructor(
    readonly ctx: DurableObjectState,
    readonly env: Env,
  ) {
    this.meetingId = ctx.id.toString();
    this.store = new MeetingStore(ctx.storage);
    this.sockets = new SocketRegistry(ctx.getWebSockets());
    this.meeting = new CachedMeeting(this.store);
    this.chat = new ChatLog(this.store);
    this.alarm = new AlarmClock(ctx.storage, this.meeting, this.sockets);
    this.presence = new PresenceWriter(this.store, () => this.sockets.liveStates());
    this.credentials = new MeetingCredentials(() => this.config);
    this.metrics = new ServiceMetrics(env.METRICS);
    this.media = new MediaStore(ctx.storage.sql);
  }

  /** Read per use: cheap (memoised per env by loadConfig) and always the deployment's current settings. */
  get config(): Config {
    return loadConfig(this.env);
  }
}
