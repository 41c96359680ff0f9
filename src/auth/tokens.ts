/**
 * Meeting tokens: HS256 JWTs over JWT_SECRET, bound to one meeting through
 * `aud`. Signing and verification only; whether a token is spent or revoked
 * is the meeting object's business.
 */
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { AppError } from "../errors";

const ISSUER = "meettime";

export const TOKEN_KINDS = ["host", "join", "session", "calendar"] as const;
/** `calendar` (contract 1.1) is read-only: accepted by the calendar feed alone. */
export type TokenKind = (typeof TOKEN_KINDS)[number];

export interface TokenClaims {
  meetingId: string;
  kind: TokenKind;
  /** The token's own id: the single-use key of a join token. */
  tokenId: string;
  /** The participant a host or session token speaks for; for a calendar token, the one who minted it. */
  participantId?: string;
  expiresAt: number;
}

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
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
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

/**
 * Checks the signature against each secret in turn (the current one, then
 * the previous one during a key rotation); only a signature mismatch moves
 * on to the next key, so an expired or foreign token fails on the first.
 */
async function verifiedPayload(secrets: readonly string[], token: string, meetingId?: string): Promise<unknown> {
  const options = { algorithms: ["HS256"], issuer: ISSUER, audience: meetingId };
  for (const [index, secret] of secrets.entries()) {
    try {
      return (await jwtVerify(token, await signingKey(secret), options)).payload;
    } catch (error) {
      const last = index === secrets.length - 1;
      if (last || !(error instanceof joseErrors.JWSSignatureVerificationFailed)) throw error;
    }
  }
  throw new Error("no verification secret");
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
  let payload: unknown;
  try {
    payload = await verifiedPayload(typeof secrets === "string" ? [secrets] : secrets, token, meetingId);
  } catch (error) {
    const expired = error instanceof joseErrors.JWTExpired;
    throw new AppError("UNAUTHORIZED", expired ? "token expired" : "invalid token");
  }
  const parsed = Payload.safeParse(payload);
  if (!parsed.success || (parsed.data.kind !== "join" && !parsed.data.pid)) {
    throw new AppError("UNAUTHORIZED", "invalid token");
  }
  const { aud, jti, exp, kind, pid } = parsed.data;
  return { meetingId: aud, kind, tokenId: jti, participantId: pid, expiresAt: exp * 1000 };
}
