/**
 * Environment → validated configuration with the defaults of API.md.
 * Parsed once per isolate and environment object; a bad value is a
 * deployment error, reported once in the log and answered as 500.
 */
import { z } from "zod";
import type { Env } from "./env";
import { AppError } from "./errors";
import { DEFAULT_STUN_URLS, DEFAULT_TURN_API_BASE_URL, type IceConfig, type TurnProvider } from "./ice/ice-servers";
import { LOG_LEVELS, type LogLevel } from "./log";
import { DEFAULT_SFU_API_BASE_URL, type SfuConfig } from "./sfu/client";

const MIN_SECRET_BYTES = 32;

const positiveNumber = (fallback: number) => z.coerce.number().positive().finite().default(fallback);
const positiveInteger = (fallback: number) => z.coerce.number().int().positive().default(fallback);
/** `"a, b,,c"` → `["a", "b", "c"]`. */
const splitList = (list: string) =>
  list
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
/** A comma-separated list of ICE server URLs, each with one of `schemes` (`stun:`, `turns:`, …). */
const iceUrlList = (schemes: RegExp, message: string) =>
  z
    .string()
    .transform(splitList)
    .refine((urls) => urls.every((url) => schemes.test(url)), message);

const ConfigSchema = z.object({
  CORS_ORIGINS: z.string().default("http://localhost:5173,http://localhost:3000").transform(splitList),
  RATE_LIMIT_WINDOW_MS: positiveInteger(900_000),
  RATE_LIMIT_MAX_REQUESTS: positiveInteger(100),
  MAX_PARTICIPANTS_PER_MEETING: z.coerce.number().int().min(2).default(50),
  MEETING_EXPIRY_HOURS: positiveNumber(24),
  TOKEN_EXPIRY_HOURS: positiveNumber(24),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  STUN_URLS: iceUrlList(/^stuns?:/i, "every URL must start with stun: or stuns:").default(DEFAULT_STUN_URLS),
  TURN_URLS: iceUrlList(/^turns?:/i, "every URL must start with turn: or turns:").default([]),
  TURN_TTL_SECONDS: positiveInteger(86_400),
  TURN_KEY_ID: z.string().trim().optional(),
  TURN_API_BASE_URL: z.url({ protocol: /^https?$/ }).default(DEFAULT_TURN_API_BASE_URL),
  SFU_APP_ID: z.string().trim().optional(),
  SFU_API_BASE_URL: z.url({ protocol: /^https?$/ }).default(DEFAULT_SFU_API_BASE_URL),
});

export interface Config {
  /** Null when JWT_SECRET is missing or too short: token routes then fail closed. */
  jwtSecret: string | null;
  /** JWT_SECRET_PREVIOUS during a key rotation: verifies tokens, never signs. Null when unset or too short. */
  jwtPreviousSecret: string | null;
  corsOrigins: string[];
  rateLimitWindowMs: number;
  rateLimitMaxRequests: number;
  maxParticipantsPerMeeting: number;
  meetingExpiryMs: number;
  tokenExpiryMs: number;
  logLevel: LogLevel;
  /** STUN and TURN for the `iceServers` of create, join and `ice-servers`. */
  ice: IceConfig;
  /** Cloudflare Realtime SFU (contract 1.2): set, every new meeting's media is `sfu`; null, `mesh`. */
  sfu: SfuConfig | null;
}

const HOUR_MS = 3_600_000;
const cache = new WeakMap<object, Config>();

function longEnoughSecret(secret: string | undefined): string | null {
  return secret && new TextEncoder().encode(secret).byteLength >= MIN_SECRET_BYTES ? secret : null;
}

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
  const config: Config = {
    jwtSecret: longEnoughSecret(env.JWT_SECRET),
    jwtPreviousSecret: longEnoughSecret(env.JWT_SECRET_PREVIOUS),
    corsOrigins: vars.CORS_ORIGINS,
    rateLimitWindowMs: vars.RATE_LIMIT_WINDOW_MS,
    rateLimitMaxRequests: vars.RATE_LIMIT_MAX_REQUESTS,
    maxParticipantsPerMeeting: vars.MAX_PARTICIPANTS_PER_MEETING,
    meetingExpiryMs: vars.MEETING_EXPIRY_HOURS * HOUR_MS,
    tokenExpiryMs: vars.TOKEN_EXPIRY_HOURS * HOUR_MS,
    logLevel: vars.LOG_LEVEL,
    ice: {
      // Unlike the other variables, an empty STUN_URLS is meaningful: no STUN at all.
      stunUrls: env.STUN_URLS !== undefined && env.STUN_URLS.trim() === "" ? [] : vars.STUN_URLS,
      turn: turnProviders(env, vars.TURN_URLS, vars.TURN_KEY_ID, vars.TURN_API_BASE_URL),
      ttlSeconds: vars.TURN_TTL_SECONDS,
    },
    sfu: sfuConfig(vars.SFU_APP_ID, env.SFU_APP_SECRET, vars.SFU_API_BASE_URL),
  };
  cache.set(env, config);
  return config;
}

/**
 * The TURN providers whose variables are complete. Half a provider (URLs
 * without their secret, a key id without its API token) is a deployment
 * mistake, but TURN never fails a join: it is logged once (without secret
 * values) and left out, so answers carry STUN only.
 */
function turnProviders(env: Env, turnUrls: string[], keyId: string | undefined, apiBaseUrl: string): TurnProvider[] {
  const providers: TurnProvider[] = [];
  const missing: string[] = [];
  const sharedSecret = env.TURN_SHARED_SECRET ?? "";
  if (turnUrls.length > 0 && sharedSecret) providers.push({ kind: "shared-secret", urls: turnUrls, sharedSecret });
  else if (turnUrls.length > 0) missing.push("TURN_SHARED_SECRET (TURN_URLS is set)");
  else if (sharedSecret) missing.push("TURN_URLS (TURN_SHARED_SECRET is set)");
  const apiToken = env.TURN_KEY_API_TOKEN ?? "";
  if (keyId && apiToken) providers.push({ kind: "cloudflare", keyId, apiToken, apiBaseUrl });
  else if (keyId) missing.push("TURN_KEY_API_TOKEN (TURN_KEY_ID is set)");
  else if (apiToken) missing.push("TURN_KEY_ID (TURN_KEY_API_TOKEN is set)");
  if (missing.length > 0) {
    console.error(
      JSON.stringify({
        level: "error",
        event: "config.turn_incomplete",
        message: `TURN is half configured, missing ${missing.join(" and ")}; answers carry STUN only until it is completed.`,
      }),
    );
  }
  return providers;
}

/**
 * The SFU when both its app id and secret are set. Half of it is a
 * deployment mistake: logged once (never the secret) and meetings stay
 * `mesh`, so nobody's call breaks over it.
 */
function sfuConfig(appId: string | undefined, appSecret: string | undefined, apiBaseUrl: string): SfuConfig | null {
  const secret = appSecret?.trim() ?? "";
  if (appId && secret) return { appId, appSecret: secret, apiBaseUrl: apiBaseUrl.replace(/\/+$/, "") };
  if (appId || secret) {
    const missing = appId ? "SFU_APP_SECRET (SFU_APP_ID is set)" : "SFU_APP_ID (SFU_APP_SECRET is set)";
    console.error(
      JSON.stringify({
        level: "error",
        event: "config.sfu_incomplete",
        message: `the SFU is half configured, missing ${missing}; new meetings use mesh media until it is completed.`,
      }),
    );
  }
  return null;
}

/**
 * The keys a token may be signed with: the current secret, then the previous
 * one while a rotation is under way (docs/operations.md "Configuration").
 */
export function verificationSecrets(config: Config): string[] {
  const current = requireJwtSecret(config);
  return config.jwtPreviousSecret && config.jwtPreviousSecret !== current
    ? [current, config.jwtPreviousSecret]
    : [current];
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
