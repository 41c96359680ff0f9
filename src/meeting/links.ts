/**
 * Meeting links (contract 1.2): one shareable link for many people, minted
 * by the host, with or without the lobby. A link is a row (its uses, its
 * revocation); its token is a JWT naming the row. Joining by a link without
 * a lobby is an invite that is not spent; with a lobby it is a knock
 * (lobby.ts). Revoking a link denies everyone waiting on it, in the same
 * transaction.
 */
import type { TokenClaims } from "../auth/tokens";
import { AppError } from "../errors";
import type { JoinWaitingData, LinkData, MintLinkInput } from "../protocol/schemas";
import {
  authorize,
  authorizeActive,
  HOST_ONLY,
  requireActive,
  requireLiveLink,
  requireMeeting,
  requireOwnToken,
} from "./access";
import type { RoomContext } from "./context";
import { collectSpentRows } from "./housekeeping";
import { grantExpiry } from "./invites";
import { announceDenials, denyWaitersOf, knock } from "./lobby";
import { type JoinResult, joinedAnswer, newParticipant, requireRoom } from "./membership";
import type { LinkRow } from "./store";
import { iso } from "./views";

/** A meeting has at most this many unrevoked, unexpired links (409 INVITE_LIMIT). */
export const LINK_LIMIT = 20;
const REVOKED = "the meeting link was revoked";

/** What a join by link answers: in at once, or waiting in the lobby. */
export type LinkJoinResult = { kind: "joined"; joined: JoinResult } | { kind: "waiting"; waiting: JoinWaitingData };

export function linkView(link: LinkRow): LinkData {
  return {
    id: link.id,
    lobby: link.lobby,
    maxUses: link.maxUses,
    uses: link.uses,
    expiresAt: iso(link.expiresAt),
    revoked: link.revokedAt !== null,
    createdAt: iso(link.createdAt),
  };
}

export async function mintLink(
  room: RoomContext,
  claims: TokenClaims,
  input: MintLinkInput,
): Promise<{ link: LinkData; token: string }> {
  room.credentials.requireSecret();
  const { meeting } = authorizeActive(room, claims, HOST_ONLY);
  const now = Date.now();
  const expiresAt = grantExpiry(room, meeting, input.expiresInHours, now);
  const maxUses = input.maxUses ?? meeting.maxParticipants;
  if (maxUses > meeting.maxParticipants) {
    throw new AppError("VALIDATION_FAILED", "maxUses is above the meeting's maxParticipants", {
      fields: { maxUses: [`must be at most ${meeting.maxParticipants}`] },
    });
  }
  const link: LinkRow = {
    id: crypto.randomUUID(),
    lobby: input.lobby,
    maxUses,
    uses: 0,
    expiresAt,
    revokedAt: null,
    createdAt: now,
  };
  const active = room.store.activeLinkCount(now);
  if (active >= LINK_LIMIT) {
    throw new AppError("INVITE_LIMIT", `a meeting holds at most ${LINK_LIMIT} unrevoked, unexpired links`, {
      limit: LINK_LIMIT,
      outstanding: active,
    });
  }
  room.store.transaction(() => {
    room.store.insertLink(link);
    collectSpentRows(room.store, now, room.config.tokenExpiryMs);
  });
  const token = await room.credentials.link(meeting, link.id, expiresAt);
  return { link: linkView(link), token };
}

/** Every link not yet expired, revoked ones included; never their tokens. */
export function listLinks(room: RoomContext, claims: TokenClaims): { links: LinkData[] } {
  authorize(room, claims, HOST_ONLY);
  return { links: room.store.unexpiredLinks(Date.now()).map(linkView) };
}

/** Revokes a link (again: the same answer) and denies everyone waiting on it. */
export function revokeLink(room: RoomContext, claims: TokenClaims, linkId: string): { link: LinkData } {
  authorizeActive(room, claims, HOST_ONLY);
  const link = room.store.link(linkId);
  const now = Date.now();
  if (!link || link.expiresAt <= now) throw new AppError("NOT_FOUND", "no such meeting link");
  if (link.revokedAt !== null) return { link: linkView(link) };
  const denied = room.store.transaction(() => {
    room.store.revokeLink(link.id, now);
    return denyWaitersOf(room, link.id, REVOKED);
  });
  announceDenials(room, denied);
  return { link: linkView({ ...link, revokedAt: now }) };
}

/**
 * `POST /api/meetings/join` with a link token, in the contract's order:
 * 401 (no such link), 404, 403 (revoked), 410, then the link's uses (409
 * LINK_EXHAUSTED) and, without a lobby, the meeting's room (409 MEETING_FULL)
 * or, with one, the lobby's (409 LOBBY_FULL).
 */
export async function joinByLink(room: RoomContext, claims: TokenClaims, displayName: string): Promise<LinkJoinResult> {
  room.credentials.requireSecret();
  requireOwnToken(room, claims);
  const meeting = requireMeeting(room);
  const link = requireLiveLink(room.store, claims);
  requireActive(meeting);
  requireUses(link);
  if (link.lobby) return { kind: "waiting", waiting: await knock(room, meeting, link, displayName) };
  requireRoom(room, meeting);
  const now = Date.now();
  const participant = newParticipant(displayName, now);
  room.store.transaction(() => {
    room.store.insertParticipant(participant);
    room.store.countLinkUse(link.id);
  });
  return { kind: "joined", joined: await joinedAnswer(room, meeting, participant, now) };
}

function requireUses(link: LinkRow): void {
  if (link.uses >= link.maxUses) {
    throw new AppError("LINK_EXHAUSTED", `this meeting link already admitted ${link.maxUses} people`);
  }
}
