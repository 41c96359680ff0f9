/**
 * REST for meeting links and the lobby (contract 1.2), mounted inside the
 * meetings sub-app after its `/:id/*` middleware, so the meeting's object is
 * already resolved (`c.var.meetingRoom`). Each handler validates,
 * authenticates and hands the action to the object.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { authenticate } from "../auth/middleware";
import type { TokenClaims } from "../auth/tokens";
import type { Env } from "../env";
import { unwrap } from "../errors";
import { jsonBodyGuard, validate } from "../http/json-body";
import { iceFieldsFor } from "../ice/answer";
import { DenyBody, EmptyBody, MintLinkBody } from "../protocol/schemas";
import type { meetingStub } from "./meetings";

const noBody = [jsonBodyGuard, validate("json", EmptyBody)] as const;

/**
 * `POST /api/meetings/join` with a link token: 200 with the join answer (and
 * ICE fields) for a link without a lobby, 202 with the wait for one with.
 */
export async function joinWithLink(
  c: Context<{ Bindings: Env }>,
  stub: ReturnType<typeof meetingStub>,
  claims: TokenClaims,
  displayName: string,
): Promise<Response> {
  const result = unwrap(await stub.joinByLink(claims, displayName));
  if (result.kind === "waiting") return c.json(result.waiting, 202);
  const { joined } = result;
  return c.json({ ...joined, ...(await iceFieldsFor(c.env, joined.participant.id, joined.sessionToken)) }, 200);
}

export const links = new Hono<{ Bindings: Env }>()
  .post("/:id/links", jsonBodyGuard, validate("json", MintLinkBody), authenticate(), async (c) => {
    return c.json(unwrap(await c.var.meetingRoom.mintLink(c.var.claims, c.req.valid("json"))), 201);
  })

  .get("/:id/links", authenticate(), async (c) => {
    return c.json(unwrap(await c.var.meetingRoom.listLinks(c.var.claims)), 200);
  })

  .delete("/:id/links/:linkId", ...noBody, authenticate(), async (c) => {
    return c.json(unwrap(await c.var.meetingRoom.revokeLink(c.var.claims, c.req.param("linkId"))), 200);
  })

  .post("/:id/lobby/:requestId/admit", ...noBody, authenticate(), async (c) => {
    return c.json(unwrap(await c.var.meetingRoom.admit(c.var.claims, c.req.param("requestId"))), 200);
  })

  .post("/:id/lobby/:requestId/deny", jsonBodyGuard, validate("json", DenyBody), authenticate(), async (c) => {
    const { reason } = c.req.valid("json");
    return c.json(unwrap(await c.var.meetingRoom.deny(c.var.claims, c.req.param("requestId"), reason)), 200);
  });
