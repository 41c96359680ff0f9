/**
 * Who may create meetings (contract 1.2): with CREATE_KEYS set, a request
 * needs `Authorization: Bearer <one of the keys>`; with Cloudflare Access
 * (ACCESS_TEAM_DOMAIN + ACCESS_AUD) a valid `Cf-Access-Jwt-Assertion` is
 * enough too. Keys are compared in constant time; the team's signing keys
 * are fetched once and cached by jose, refetched when a token names a key
 * the cache does not hold (rotation). Neither credential is ever logged.
 */
import type { Context } from "hono";
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from "jose";
import type { CreateAccessConfig } from "../config";
import type { Env } from "../env";
import { AppError } from "../errors";
import { log } from "../log";
import { bearerToken } from "./middleware";

/** The header Cloudflare Access adds to every request it lets through. */
export const ACCESS_JWT_HEADER = "cf-access-jwt-assertion";
/** Where an Access team publishes its signing keys. */
export const ACCESS_CERTS_PATH = "/cdn-cgi/access/certs";
/** How long a certs fetch may take before create answers 503. */
const CERTS_TIMEOUT_MS = 3_000;

type RemoteKeys = ReturnType<typeof createRemoteJWKSet>;
/** One key set per team, for the isolate's life: jose caches the keys and refetches on an unknown `kid`. */
const teamKeys = new Map<string, RemoteKeys>();
/** SHA-256 of each configured key, computed once per configuration. */
const keyDigests = new WeakMap<string[], Promise<Uint8Array[]>>();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/**
 * True when `presented` is one of `keys`. Digests make the lengths equal, and
 * every key is compared to the end, so the time taken says nothing about how
 * much of which key was right.
 */
export async function matchesCreateKey(keys: string[], presented: string): Promise<boolean> {
  let digests = keyDigests.get(keys);
  if (!digests) {
    digests = Promise.all(keys.map(sha256));
    keyDigests.set(keys, digests);
  }
  const candidate = await sha256(presented);
  let matched = 0;
  for (const digest of await digests) {
    let difference = 0;
    for (let i = 0; i < digest.length; i++) difference |= (digest[i] as number) ^ (candidate[i] as number);
    matched |= difference === 0 ? 1 : 0;
  }
  return matched === 1;
}

function keysOf(teamDomain: string): RemoteKeys {
  let keys = teamKeys.get(teamDomain);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(ACCESS_CERTS_PATH, teamDomain), { timeoutDuration: CERTS_TIMEOUT_MS });
    teamKeys.set(teamDomain, keys);
  }
  return keys;
}

/** Errors that say the token is wrong; any other failure means the team's keys could not be read. */
const TOKEN_ERRORS = [
  joseErrors.JWTExpired,
  joseErrors.JWTClaimValidationFailed,
  joseErrors.JWTInvalid,
  joseErrors.JWSInvalid,
  joseErrors.JWSSignatureVerificationFailed,
  joseErrors.JWKSNoMatchingKey,
  joseErrors.JWKSMultipleMatchingKeys,
  joseErrors.JOSEAlgNotAllowed,
  joseErrors.JOSENotSupported,
];

/**
 * True when `token` is a valid Access token of the team for the audience:
 * RS256, signed by one of the team's keys, issued by the team, not expired.
 * A team whose keys cannot be fetched is `503 UNAVAILABLE` (nothing changed).
 */
export async function isValidAccessToken(access: { teamDomain: string; audience: string }, token: string) {
  try {
    await jwtVerify(token, keysOf(access.teamDomain), {
      algorithms: ["RS256"],
      issuer: access.teamDomain,
      audience: access.audience,
      requiredClaims: ["exp"],
    });
    return true;
  } catch (error) {
    if (TOKEN_ERRORS.some((kind) => error instanceof kind)) {
      log("debug", "create.access_token_refused", { reason: (error as joseErrors.JOSEError).code });
      return false;
    }
    log("warn", "create.access_keys_unavailable", { error: error instanceof Error ? error.name : "unknown" });
    throw new AppError("UNAVAILABLE", "the sign-in service could not be reached; retry shortly");
  }
}

/** Whether a request carrying these credentials may create, under `config`. */
export async function mayCreate(
  config: CreateAccessConfig,
  credentials: { bearer?: string; accessJwt?: string },
): Promise<boolean> {
  if (!config.restricted) return true;
  if (credentials.bearer && config.keys.length > 0 && (await matchesCreateKey(config.keys, credentials.bearer))) {
    return true;
  }
  return Boolean(
    config.access && credentials.accessJwt && (await isValidAccessToken(config.access, credentials.accessJwt)),
  );
}

/**
 * Throws `401 UNAUTHORIZED` unless the request may create a meeting. Runs
 * after the body's validation (the contract's check order).
 * @example await requireCreateCredential(c, loadConfig(c.env).createAccess)
 */
export async function requireCreateCredential(c: Context<{ Bindings: Env }>, config: CreateAccessConfig) {
  const allowed = await mayCreate(config, {
    bearer: bearerToken(c),
    accessJwt: c.req.header(ACCESS_JWT_HEADER)?.trim(),
  });
  if (!allowed) {
    throw new AppError(
      "UNAUTHORIZED",
      "creating a meeting needs a create key (Authorization: Bearer <key>) or a Cloudflare Access sign-in",
    );
  }
}
