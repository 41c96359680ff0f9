/**
 * Token authentication for meeting routes: finds the bearer token (header,
 * or `?token=` where a link must carry it), verifies it for the route's
 * meeting, and leaves the claims for the meeting object to judge.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { loadConfig, verificationSecrets } from "../config";
import type { Env } from "../env";
import { AppError } from "../errors";
import { type TokenClaims, verifyToken } from "./tokens";

export type AuthedEnv = { Bindings: Env; Variables: { claims: TokenClaims } };

export function bearerToken(c: Context): string | undefined {
  const header = c.req.header("authorization");
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

/** Verifies a token for `meetingId` (or for whichever meeting it names); 401 on any failure. */
export async function verifyMeetingToken(
  env: Env,
  token: string | undefined,
  meetingId?: string,
): Promise<TokenClaims> {
  const secrets = verificationSecrets(loadConfig(env));
  if (!token) throw new AppError("UNAUTHORIZED", "missing token: send Authorization: Bearer <token>");
  return verifyToken(secrets, token, meetingId);
}

/**
 * @example meetings.get("/:id", authenticate(), (c) => c.var.claims)
 */
export const authenticate = (options: { allowQueryToken?: boolean } = {}) =>
  createMiddleware<AuthedEnv>(async (c, next) => {
    const token = bearerToken(c) ?? (options.allowQueryToken ? c.req.query("token") : undefined);
    c.set("claims", await verifyMeetingToken(c.env, token, c.req.param("id")));
    await next();
  });
