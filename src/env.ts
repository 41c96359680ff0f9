/**
 * The Worker's bindings and variables, as declared in wrangler.toml.
 * Variables arrive as strings; `config.ts` validates and converts them once.
 */
import type { MeetingRoom } from "./meeting/meeting";
import type { RateLimitCounter } from "./ratelimit/counter";

export interface Env {
  MEETINGS: DurableObjectNamespace<MeetingRoom>;
  /** One counter per client IP for the REST rate limit. */
  RATE_LIMITER: DurableObjectNamespace<RateLimitCounter>;
  /** Workers Analytics Engine dataset for service counters; optional, metrics are a no-op without it. */
  METRICS?: AnalyticsEngineDataset;
  JWT_SECRET?: string;
  CORS_ORIGINS?: string;
  RATE_LIMIT_WINDOW_MS?: string;
  RATE_LIMIT_MAX_REQUESTS?: string;
  MAX_PARTICIPANTS_PER_MEETING?: string;
  MEETING_EXPIRY_HOURS?: string;
  TOKEN_EXPIRY_HOURS?: string;
  LOG_LEVEL?: string;
}
