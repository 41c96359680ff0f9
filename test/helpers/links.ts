/**
 * Meeting links and the lobby (contract 1.2) from a test's side: mint a
 * link, join with it, knock and open the lobby socket with the wait token,
 * and look at (or move) a wait's deadline inside the meeting's object.
 */
import { runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import { type ApiResponse, api } from "./api";
import { meetingObject, TestSocket, upgrade } from "./sockets";

export interface MintedLink {
  link: {
    id: string;
    lobby: boolean;
    maxUses: number;
    uses: number;
    expiresAt: string;
    revoked: boolean;
    createdAt: string;
  };
  token: string;
}

export const mintLinkRequest = (meetingId: string, hostToken: string, body: Record<string, unknown> = {}) =>
  api("POST", `/api/meetings/${meetingId}/links`, { token: hostToken, body });

export async function mintLink(
  meetingId: string,
  hostToken: string,
  body: Record<string, unknown> = {},
): Promise<MintedLink> {
  const res = await mintLinkRequest(meetingId, hostToken, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as MintedLink;
}

export const joinWith = (token: string, displayName = "Guest"): Promise<ApiResponse> =>
  api("POST", "/api/meetings/join", { body: { token, displayName } });

export interface Knock {
  status: "waiting";
  requestId: string;
  waitToken: string;
  wsUrl: string;
}

/** Joins with a lobby link: the 202 answer. */
export async function knock(linkToken: string, displayName = "Guest"): Promise<Knock> {
  const res = await joinWith(linkToken, displayName);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body as Knock;
}

/** Opens the lobby socket with a wait token and waits for `lobby:waiting`. */
export async function openLobby(meetingId: string, waitToken: string): Promise<TestSocket> {
  const response = await upgrade(meetingId, waitToken);
  if (response.status !== 101) throw new Error(`lobby upgrade refused: ${response.status} ${await response.text()}`);
  const ws = response.webSocket as WebSocket;
  const socket = new TestSocket(ws);
  ws.accept();
  await socket.next("lobby:waiting");
  return socket;
}

/** A lobby link, a guest who knocked with it, and that guest's open lobby socket. */
export async function waitingGuest(meetingId: string, linkToken: string, name = "Guest") {
  const knocked = await knock(linkToken, name);
  const lobby = await openLobby(meetingId, knocked.waitToken);
  return { ...knocked, lobby };
}

export const admitRequest = (meetingId: string, hostToken: string, requestId: string) =>
  api("POST", `/api/meetings/${meetingId}/lobby/${requestId}/admit`, { token: hostToken });

export const denyRequest = (meetingId: string, hostToken: string, requestId: string, body: object = {}) =>
  api("POST", `/api/meetings/${meetingId}/lobby/${requestId}/deny`, { token: hostToken, body });

export const revokeLinkRequest = (meetingId: string, hostToken: string, linkId: string) =>
  api("DELETE", `/api/meetings/${meetingId}/links/${linkId}`, { token: hostToken });

/** The stored lobby rows of a meeting (every wait, answered or not). */
export function lobbyRows(meetingId: string): Promise<Record<string, unknown>[]> {
  return runInDurableObject(meetingObject(meetingId), (_, state) =>
    state.storage.sql.exec("SELECT * FROM lobby_request ORDER BY requested_at").toArray(),
  );
}

/** Moves every wait's deadline (or only `requestId`'s) `ms` into the past, as time would. */
export function overdueWaits(meetingId: string, requestId?: string, ms = 1000): Promise<void> {
  return runInDurableObject(meetingObject(meetingId), (_, state) => {
    const at = Date.now() - ms;
    if (requestId) state.storage.sql.exec("UPDATE lobby_request SET deadline = ? WHERE id = ?", at, requestId);
    else state.storage.sql.exec("UPDATE lobby_request SET deadline = ?", at);
  });
}
