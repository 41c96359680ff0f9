/**
 * ICE servers as the worker answers them: for the create and join answers
 * (`iceServers`, `iceServersExpiresAt`, ending with the token they carry)
 * and for `GET /api/meetings/:id/ice-servers`. A TURN provider left out is
 * logged here, with its kind and a reason only, never a secret.
 */
import { decodeJwt } from "jose";
import { loadConfig } from "../config";
import type { Env } from "../env";
import { log } from "../log";
import type { IceServerData } from "../protocol/schemas";
import { type IceServers, iceServersFor } from "./ice-servers";

export interface IceFields {
  iceServers: IceServerData[];
  iceServersExpiresAt: string;
}

/**
 * ICE servers for `participantId` whose credentials end by `notAfter` (epoch ms).
 * @example return c.json(await iceServersForParticipant(c.env, participantId, notAfter), 200)
 */
export async function iceServersForParticipant(env: Env, participantId: string, notAfter: number): Promise<IceServers> {
  const { iceServers, expiresAt, failures } = await iceServersFor(loadConfig(env).ice, participantId, notAfter);
  for (const failure of failures) log("warn", "ice.turn_unavailable", { ...failure });
  return { iceServers, expiresAt };
}

/**
 * The create/join fields for the participant `token` speaks for; the token
 * was just signed by the meeting object, so its payload is read, not verified.
 * @example return c.json({ ...created, ...(await iceFieldsFor(c.env, created.participant.id, created.hostToken)) }, 201)
 */
export async function iceFieldsFor(env: Env, participantId: string, token: string): Promise<IceFields> {
  const notAfter = (decodeJwt(token).exp ?? 0) * 1000;
  const { iceServers, expiresAt } = await iceServersForParticipant(env, participantId, notAfter);
  return { iceServers, iceServersExpiresAt: expiresAt };
}
