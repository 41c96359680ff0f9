/**
 * Meeting tokens: HS256 JWTs over JWT_SECRET, bound to one meeting through
 * `aud`. Signing and verification only; whether a token is spent or revoked
 * is the meeting object's business.
 */
import { SignJWT } from "jose";
import { z } from "zod";
import { AppError } from "../errors";
import { setBounded } from "../lib/remembered";

const ISSUER = "meettime";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const TOKEN_KINDS = ["host", "join", "session", "calendar", "link", "wait"] as const;
/**
 * `calendar` (contract 1.1) is read-only: accepted by the calendar feed alone.
 * `link` (1.2) is a shareable meeting link (its `tokenId` the link's id);
 * `wait` (1.2) opens the lobby socket of one join request (its `tokenId` the request's id).
 */
export type TokenKind = (typeof TOKEN_KINDS)[number];

export interface TokenClaims {
  meetingId: string;
  kind: TokenKind;
  /** The token's own id: the single-use key of a join token, a link's id, a lobby request's id. */
  tokenId: string;
  /** The participant a host or session token speaks for; for a calendar token, the one who minted it. */
  participantId?: string;
  expiresAt: number;
}

/** Kinds that speak for a participant, and so must name one (`pid`). */
const SPEAKS_FOR_PARTICIPANT: readonly TokenKind[] = ["host", "session", "calendar"];

const Payload = z.object({
  aud: z.string(),
  jti: z.string(),
  exp: z.number(),
  kind: z.enum(TOKEN_KINDS),
  pid: z.string().optional(),
});

const keys = new Map<string, Promise<CryptoKey>>();

function signingKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    keys.set(secret, key);
  }
  return key;
}

/**
 * @example const token = await signToken(secret, { meetingId, kind: "host", tokenId, participantId, expiresAt })
 */
export async function signToken(secret: string, claims: TokenClaims): Promise<string> {
  return new SignJWT({ kind: claims.kind, ...(claims.participantId ? { pid: claims.participantId } : {}) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(claims.meetingId)
    .setJti(claims.tokenId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(claims.expiresAt / 1000))
    .sign(await signingKey(secret));
}

/** Why a token failed: only `signature` moves on to the previous secret; `expired` is worded apart. */
class TokenRejected extends Error {
  constructor(readonly reason: "malformed" | "signature" | "expired" | "claims") {
    super(reason);
  }
}

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]+$/;

function base64urlBytes(segment: string): Uint8Array<ArrayBuffer> {
  const binary = atob(segment.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A segment's JSON object; anything else (bad base64, bad JSON, an array, null) is malformed. */
function jsonObject(segment: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(decoder.decode(base64urlBytes(segment)));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Falls through to the rejection.
  }
  throw new TokenRejected("malformed");
}

/**
 * The compact HS256 JWT check, written out rather than through jose's
 * generic JWS path, which cost every token route measurable CPU (issue 11,
 * BENCHMARKS.md "The REST `GET`, piece by piece"). Same rules as `jwtVerify(token, key, { algorithms: ["HS256"],
 * issuer, audience })`: header `alg` exactly HS256 and no `crit` or `b64`
 * (extensions we never use), a constant-time HMAC check (`crypto.subtle.verify`) against
 * each secret in turn (the current one, then the previous one during a
 * rotation; only a mismatch moves on), then `iss`, `aud` (the route's
 * meeting, when given), `exp` (expired once `exp <= now`, in seconds), and
 * `nbf`/`iat` when present.
 */
async function verifiedPayload(secrets: readonly string[], token: string, meetingId?: string): Promise<unknown> {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((part) => BASE64URL_SEGMENT.test(part))) {
    throw new TokenRejected("malformed");
  }
  const [headerPart = "", payloadPart = "", signaturePart = ""] = parts;
  const header = jsonObject(headerPart);
  if (header.alg !== "HS256" || "crit" in header || "b64" in header) throw new TokenRejected("malformed");
  const signature = base64urlBytes(signaturePart);
  const signed = encoder.encode(`${headerPart}.${payloadPart}`);
  let matched = false;
  for (const secret of secrets) {
    if (await crypto.subtle.verify("HMAC", await signingKey(secret), signature, signed)) {
      matched = true;
      break;
    }
  }
  if (!matched) throw new TokenRejected("signature");
  const payload = jsonObject(payloadPart);
  const now = Math.floor(Date.now() / 1000);
  if (payload.iss !== ISSUER) throw new TokenRejected("claims");
  if (meetingId !== undefined && payload.aud !== meetingId) throw new TokenRejected("claims");
  if (payload.iat !== undefined && typeof payload.iat !== "number") throw new TokenRejected("claims");
  if (payload.nbf !== undefined && (typeof payload.nbf !== "number" || payload.nbf > now)) {
    throw new TokenRejected("claims");
  }
  if (typeof payload.exp !== "number") throw new TokenRejected("claims");
  if (payload.exp <= now) throw new TokenRejected("expired");
  return payload;
}

/**
 * Tokens that passed every check, by their exact text, with the secrets
 * that verified them. The same text under the same secrets verifies the
 * same way, so a client's repeated calls skip the HMAC and JSON work (issue
 * 11); only the time-dependent checks run again. Failures are never kept,
 * so only tokens we signed take room. Per isolate, oldest dropped first.
 */
const verifiedTokens = new Map<string, { secretsKey: string; claims: TokenClaims }>();
const VERIFIED_TOKENS_KEPT = 1_000;

function expiredError(): AppError {
  return new AppError("UNAUTHORIZED", "token expired");
}

/** A cached token: still unexpired (in whole seconds, as the full check) and, if asked, of this meeting. */
function recheckCached(claims: TokenClaims, meetingId: string | undefined): TokenClaims {
  if (claims.expiresAt / 1000 <= Math.floor(Date.now() / 1000)) throw expiredError();
  if (meetingId !== undefined && claims.meetingId !== meetingId) throw new AppError("UNAUTHORIZED", "invalid token");
  return claims;
}

/**
 * Verifies signature, algorithm and expiry; with `meetingId`, also that the
 * token belongs to that meeting. `secrets`: one secret, or the current and
 * previous ones during a rotation. Every failure is `401 UNAUTHORIZED`.
 */
export async function verifyToken(
  secrets: string | readonly string[],
  token: string,
  meetingId?: string,
): Promise<TokenClaims> {
  const secretList = typeof secrets === "string" ? [secrets] : secrets;
  const secretsKey = secretList.join("\0");
  const cached = verifiedTokens.get(token);
  if (cached?.secretsKey === secretsKey) return recheckCached(cached.claims, meetingId);
  let payload: unknown;
  try {
    payload = await verifiedPayload(secretList, token, meetingId);
  } catch (error) {
    if (error instanceof TokenRejected && error.reason === "expired") throw expiredError();
    throw new AppError("UNAUTHORIZED", "invalid token");
  }
  const parsed = Payload.safeParse(payload);
  if (!parsed.success || (SPEAKS_FOR_PARTICIPANT.includes(parsed.data.kind) && !parsed.data.pid)) {
    throw new AppError("UNAUTHORIZED", "invalid token");
  }
  const { aud, jti, exp, kind, pid } = parsed.data;
  // Frozen: the cached object is handed to every later caller of the same token.
  const claims: TokenClaims = Object.freeze({
    meetingId: aud,
    kind,
    tokenId: jti,
    participantId: pid,
    expiresAt: exp * 1000,
  });
  setBounded(verifiedTokens, token, { secretsKey, claims }, VERIFIED_TOKENS_KEPT);
  return claims;
}
