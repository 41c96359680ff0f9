/**
 * Token forgery for tests: what an attacker can build from a token they
 * hold (alg none, another key, a tampered payload) and what only the server
 * could sign (an expired or re-bound token), to prove each one is refused.
 */
import { env } from "cloudflare:test";
import { base64url, decodeJwt, decodeProtectedHeader, type JWTPayload, SignJWT } from "jose";

/** The worker's real signing secret in the test environment. */
export const SERVER_SECRET = env.JWT_SECRET as string;

const encodeJson = (value: unknown) => base64url.encode(JSON.stringify(value));

/** The payload of a token, unverified. */
export function claimsOf(token: string): JWTPayload & { kind?: string; pid?: string } {
  return decodeJwt(token);
}

/** Signs `payload` as an HS256 JWT with `secret` (the server's by default). */
export function signClaims(payload: JWTPayload & Record<string, unknown>, secret = SERVER_SECRET): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));
}

/** `token`'s payload under `alg: none`, hand-built: header, payload and an empty signature. */
export function withAlgNone(token: string, changes: Record<string, unknown> = {}): string {
  return `${encodeJson({ alg: "none", typ: "JWT" })}.${encodeJson({ ...claimsOf(token), ...changes })}.`;
}

/** `token`'s payload signed with a key the server does not know. */
export function withWrongSecret(token: string): Promise<string> {
  return signClaims(claimsOf(token), "an-attacker-secret-that-is-also-32-bytes-long");
}

/** `token`'s payload, expired a minute ago, correctly signed: only `exp` is wrong. */
export function expired(token: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signClaims({ ...claimsOf(token), iat: now - 3600, exp: now - 60 });
}

/** `token`'s payload bound to another meeting, correctly signed. */
export function reboundTo(token: string, meetingId: string): Promise<string> {
  return signClaims({ ...claimsOf(token), aud: meetingId });
}

/** `token` with `changes` spliced into its payload and the original signature kept. */
export function tampered(token: string, changes: Record<string, unknown>): string {
  const [header, , signature] = token.split(".");
  return `${header}.${encodeJson({ ...claimsOf(token), ...changes })}.${signature}`;
}

/** The header a token was signed with. */
export function headerOf(token: string) {
  return decodeProtectedHeader(token);
}
