/**
 * Environment → validated configuration with the defaults of API.md.
 * Parsed once per isolate and environment object; a bad value is a
 * deployment error, reported once in the log and answered as 500.
 */
import { z } from "zod";
import type { Env } from "./env";
import { AppError } from "./errors";

const MIN_SECRET_BYTES = 32;

const positiveNumber = (fallback: number) => z.coerce.number().positive().finite().default(fallback);
const positiveInteger = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const ConfigSchema = z.object({
  CORS_ORIGINS: z
    .string()
    .default("http://localhost:5173,http://localhost:3000")
    .transform((list) =>
      list
        .split(",")
        .map((origin) => origin.trim())
        .filter(Boolean),
    ),
  RATE_LIMIT_WINDOW_MS: positiveInteger(900_000),
  RATE_LIMIT_MAX_REQUESTS: positiveInteger(100),
  MAX_PARTICIPANTS_PER_MEETING: z.coerce.number().int().min(2).default(50),
  MEETING_EXPIRY_HOURS: positiveNumber(24),
  TOKEN_EXPIRY_HOURS: positiveNumber(24),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

export type LogLevel = z.infer<typeof ConfigSchema>["LOG_LEVEL"];

export interface Config {
  /** Null when JWT_SECRET is missing or too short: token routes then fail closed. */
  jwtSecret: string | null;
  corsOrigins: string[];
  rateLimitWindowMs: number;
  rateLimitMaxRequests: number;
  maxParticipantsPerMeeting: number;
  meetingExpiryMs: number;
  tokenExpiryMs: number;
  logLevel: LogLevel;
}

const HOUR_MS = 3_600_000;
const cache = new WeakMap<object, Config>();

/** Reads the configuration of `env`; throws a clear error when a variable is invalid. */
export function loadConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  // Empty strings (an unset var in a .dev.vars template) mean "use the default".
  const raw = Object.fromEntries(
    Object.entries(env).filter(([, value]) => typeof value === "string" && value.trim() !== ""),
  );
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join(".")).join(", ");
    throw new Error(`invalid configuration: ${fields}`);
  }
  const vars = parsed.data;
  const secret = env.JWT_SECRET ?? "";
  const config: Config = {
    jwtSecret: new TextEncoder().encode(secret).byteLength >= MIN_SECRET_BYTES ? secret : null,
    corsOrigins: vars.CORS_ORIGINS,
    rateLimitWindowMs: vars.RATE_LIMIT_WINDOW_MS,
    rateLimitMaxRequests: vars.RATE_LIMIT_MAX_REQUESTS,
    maxParticipantsPerMeeting: vars.MAX_PARTICIPANTS_PER_MEETING,
    meetingExpiryMs: vars.MEETING_EXPIRY_HOURS * HOUR_MS,
    tokenExpiryMs: vars.TOKEN_EXPIRY_HOURS * HOUR_MS,
    logLevel: vars.LOG_LEVEL,
  };
  cache.set(env, config);
  return config;
}

/** The signing secret, or a 500 with a log line that says what to set. */
export function requireJwtSecret(config: Config): string {
  if (config.jwtSecret === null) {
    console.error(
      JSON.stringify({
        level: "error",
        event: "config.jwt_secret_missing",
        message: `JWT_SECRET is missing or shorter than ${MIN_SECRET_BYTES} bytes; token routes are disabled. Set it with 'wrangler secret put JWT_SECRET' (or in .dev.vars locally).`,
      }),
    );
    throw new AppError("INTERNAL", "server is not configured for tokens");
  }
  return config.jwtSecret;
}
