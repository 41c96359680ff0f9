/**
 * The `/media/*` routes (contract 1.2) as a client calls them: open a
 * session, publish, pull, renegotiate, close.
 */
import { expect } from "vitest";
import { type ApiResponse, api } from "./api";

export const MEDIA_ROUTES = {
  session: { method: "POST", suffix: "/media/session" },
  tracks: { method: "POST", suffix: "/media/tracks" },
  renegotiate: { method: "PUT", suffix: "/media/renegotiate" },
  close: { method: "PUT", suffix: "/media/tracks/close" },
} as const;

export type MediaRoute = keyof typeof MEDIA_ROUTES;

export const OFFER = { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=client offer\r\n" } as const;
export const ANSWER = { type: "answer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=client answer\r\n" } as const;

/** A valid body for each route, so a test can show what else refuses the call. */
export const VALID_BODIES: Record<MediaRoute, unknown> = {
  session: { sessionDescription: OFFER },
  tracks: { sessionDescription: OFFER, tracks: [{ location: "local", mid: "0", trackName: "cam", kind: "video" }] },
  renegotiate: { sessionDescription: ANSWER },
  close: { tracks: [{ mid: "0" }] },
};

export function callMedia(meetingId: string, route: MediaRoute, token?: string, body?: unknown): Promise<ApiResponse> {
  const { method, suffix } = MEDIA_ROUTES[route];
  return api(method, `/api/meetings/${meetingId}${suffix}`, { token, body });
}

/** Opens a session and publishes a camera and a microphone (mids 0 and 1); the tracks answer. */
export async function publishCamera(meetingId: string, token: string, prefix = "cam") {
  const session = await callMedia(meetingId, "session", token, {});
  expect(session.status, JSON.stringify(session.body)).toBe(201);
  const published = await callMedia(meetingId, "tracks", token, {
    sessionDescription: OFFER,
    tracks: [
      { location: "local", mid: "0", trackName: `${prefix}-video`, kind: "video" },
      { location: "local", mid: "1", trackName: `${prefix}-audio`, kind: "audio" },
    ],
  });
  expect(published.status, JSON.stringify(published.body)).toBe(200);
  return published.body;
}

/** What `publishCamera` announces. */
export const cameraTracks = (prefix = "cam") => [
  { trackName: `${prefix}-video`, kind: "video" },
  { trackName: `${prefix}-audio`, kind: "audio" },
];
