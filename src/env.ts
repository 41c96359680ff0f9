/**
 * The Worker's bindings and variables, as declared in wrangler.toml.
 * Variables arrive as strings; `config.ts` validates and converts them once.
 */
import type { MeetingRoom } from "./meeting/room";
import type { RateLimitCounter } from "./ratelimit/counter";

export interface Env {
  MEETINGS: DurableObjectNamespace<MeetingRoom>;
  /** One counter per client IP for the REST rate limit. */
  RATE_LIMITER: DurableObjectNamespace<RateLimitCounter>;
  /** Workers Analytics Engine dataset for service counters; optional, metrics are a no-op without it. */
  METRICS?: AnalyticsEngineDataset;
  JWT_SECRET?: string;
  /** The secret before the last rotation: still verifies tokens (until they expire), never signs. */
  JWT_SECRET_PREVIOUS?: string;
  CORS_ORIGINS?: string;
  RATE_LIMIT_WINDOW_MS?: string;
  RATE_LIMIT_MAX_REQUESTS?: string;
  MAX_PARTICIPANTS_PER_MEETING?: string;
  MEETING_EXPIRY_HOURS?: string;
  TOKEN_EXPIRY_HOURS?: string;
  LOG_LEVEL?: string;
  /** ICE (contract 1.1): comma-separated `stun:` URLs; empty means none. */
  STUN_URLS?: string;
  /** Comma-separated `turn:`/`turns:` URLs of a TURN server taking TURN REST API credentials (coturn `use-auth-secret`). */
  TURN_URLS?: string;
  /** Secret shared with that TURN server (coturn `static-auth-secret`). */
  TURN_SHARED_SECRET?: string;
  TURN_TTL_SECONDS?: string;
  /** Cloudflare Realtime TURN key id; its API token is the secret TURN_KEY_API_TOKEN. */
  TURN_KEY_ID?: string;
  TURN_KEY_API_TOKEN?: string;
  /** Base URL of Cloudflare's Realtime API [https://rtc.live.cloudflare.com]; tests point it at a stub. */
  TURN_API_BASE_URL?: string;
  /** Media through Cloudflare Realtime SFU (contract 1.2): the app id; its secret is SFU_APP_SECRET. Both set: new meetings are `sfu`. */
  SFU_APP_ID?: string;
  SFU_APP_SECRET?: string;
  /** The SFU's Connection API [https://rtc.live.cloudflare.com/v1]; the local SFU or a test stub elsewhere. */
  SFU_API_BASE_URL?: string;
}
