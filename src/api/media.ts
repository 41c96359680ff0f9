/**
 * REST for media through an SFU (contract 1.2): `/api/meetings/:id/media/*`,
 * each the SFU's own Connection API operation on the caller's own SFU
 * session, which only the server knows. Each handler asks the meeting
 * object for a grant (who, their session, the sessions of the tracks they
 * pull), calls the SFU itself (5 s at most; the object never waits on it),
 * then reports what the SFU did to the object, which records and announces
 * it. Answers name participants, never SFU session ids. Mounted under
 * `/api/meetings` after the meeting id was checked (meetings.ts).
 */
import { Hono } from "hono";
import { authenticate } from "../auth/middleware";
import { loadConfig } from "../config";
import type { Env } from "../env";
import { unavailable } from "../error-path";
import { unwrap } from "../errors";
import { jsonBodyGuard, validate } from "../http/json-body";
import { log } from "../log";
import type { PublishedTrackRow, PulledTrackRow } from "../meeting/media-store";
import {
  type MediaCloseAnswer,
  MediaCloseBody,
  MediaRenegotiateBody,
  MediaSessionBody,
  type MediaTracksAnswer,
  MediaTracksBody,
  type MediaTracksInput,
} from "../protocol/schemas";
import { SfuClient, type SfuCloseAnswer, type SfuTrackAnswer, type SfuTracksAnswer } from "../sfu/client";

/** The deployment's SFU; a meeting made `sfu` under settings since removed answers 503 until they are back. */
function sfuOf(env: Env): SfuClient {
  const sfu = loadConfig(env).sfu;
  if (!sfu) {
    log("error", "sfu.not_configured", { message: "an sfu meeting needs SFU_APP_ID and SFU_APP_SECRET" });
    throw unavailable("the media server is not configured; nothing was changed");
  }
  return new SfuClient(sfu);
}

type TrackRequest = MediaTracksInput["tracks"][number];

/**
 * Pairs each requested track with the SFU's result for it: a local track by
 * its mid (or name), a remote one by its publisher's session and name. Each
 * result is used once, so a track asked for twice gets one result each.
 */
function resultsFor(
  requested: TrackRequest[],
  answer: SfuTrackAnswer[],
  ownSession: string,
  publishers: Record<string, string>,
): (SfuTrackAnswer | undefined)[] {
  const unused = new Set(answer);
  return requested.map((track) => {
    const found = [...unused].find((result) =>
      track.location === "local"
        ? result.trackName === track.trackName && (result.sessionId ?? ownSession) === ownSession
        : result.trackName === track.trackName && result.sessionId === publishers[track.participantId],
    );
    if (found) unused.delete(found);
    return found;
  });
}

/** The SFU's answer with `participantId` in place of each session id; sessions nobody here owns are dropped. */
function clientTracksAnswer(answer: SfuTracksAnswer, participantBySession: Map<string, string>): MediaTracksAnswer {
  return {
    requiresImmediateRenegotiation: answer.requiresImmediateRenegotiation,
    ...(answer.sessionDescription ? { sessionDescription: answer.sessionDescription } : {}),
    tracks: answer.tracks.map(({ sessionId, ...result }) => {
      const participantId = sessionId === undefined ? undefined : participantBySession.get(sessionId);
      return participantId ? { ...result, participantId } : result;
    }),
  };
}

function clientCloseAnswer(answer: SfuCloseAnswer): MediaCloseAnswer {
  return {
    requiresImmediateRenegotiation: answer.requiresImmediateRenegotiation,
    ...(answer.sessionDescription ? { sessionDescription: answer.sessionDescription } : {}),
    tracks: answer.tracks.map(({ mid, errorCode, errorDescription }) => ({
      mid,
      ...(errorCode ? { errorCode } : {}),
      ...(errorDescription ? { errorDescription } : {}),
    })),
  };
}

/** `close_track_error`: the track is absent or was already closed; either way it is no longer there. */
const GONE_AT_SFU = "close_track_error";

export const media = new Hono<{ Bindings: Env }>()
  .post("/:id/media/session", jsonBodyGuard, validate("json", MediaSessionBody), authenticate(), async (c) => {
    const room = c.var.meetingRoom;
    const claims = c.var.claims;
    unwrap(await room.mediaGrant(claims, { session: "open" }));
    const { sessionId, sessionDescription } = await sfuOf(c.env).newSession(c.req.valid("json").sessionDescription);
    unwrap(await room.mediaSessionOpened(claims, sessionId));
    return c.json(sessionDescription ? { sessionDescription } : {}, 201);
  })

  .post("/:id/media/tracks", jsonBodyGuard, validate("json", MediaTracksBody), authenticate(), async (c) => {
    const room = c.var.meetingRoom;
    const claims = c.var.claims;
    const { tracks, sessionDescription } = c.req.valid("json");
    const grant = unwrap(
      await room.mediaGrant(claims, {
        session: "existing",
        publish: tracks.flatMap((track) => (track.location === "local" ? [track.trackName] : [])),
        pull: tracks.flatMap((track) =>
          track.location === "remote" ? [{ participantId: track.participantId, trackName: track.trackName }] : [],
        ),
      }),
    );
    const sessionId = grant.sessionId as string; // `existing`: the grant refused a caller without one.
    const answer = await sfuOf(c.env).newTracks(
      sessionId,
      tracks.map((track) =>
        track.location === "local"
          ? { location: "local", mid: track.mid, trackName: track.trackName }
          : {
              location: "remote",
              sessionId: grant.publishers[track.participantId] as string,
              trackName: track.trackName,
            },
      ),
      sessionDescription,
    );
    const published: PublishedTrackRow[] = [];
    const pulled: PulledTrackRow[] = [];
    const results = resultsFor(tracks, answer.tracks, sessionId, grant.publishers);
    for (const [index, track] of tracks.entries()) {
      const result = results[index];
      if (!result || result.errorCode) continue;
      if (track.location === "local") {
        const { trackName, kind, screen } = track;
        published.push({ mid: result.mid ?? track.mid, trackName, kind, ...(screen ? { screen } : {}) });
      } else if (result.mid) {
        pulled.push({ mid: result.mid, publisherId: track.participantId, trackName: track.trackName });
      }
    }
    unwrap(await room.mediaTracksAdded(claims, sessionId, published, pulled));
    const participantBySession = new Map([
      [sessionId, grant.participantId],
      ...Object.entries(grant.publishers).map(([participantId, session]) => [session, participantId] as const),
    ]);
    return c.json(clientTracksAnswer(answer, participantBySession), 200);
  })

  .put("/:id/media/renegotiate", jsonBodyGuard, validate("json", MediaRenegotiateBody), authenticate(), async (c) => {
    const grant = unwrap(await c.var.meetingRoom.mediaGrant(c.var.claims, { session: "existing" }));
    const sessionId = grant.sessionId as string;
    const { sessionDescription } = await sfuOf(c.env).renegotiate(sessionId, c.req.valid("json").sessionDescription);
    return c.json(sessionDescription ? { sessionDescription } : {}, 200);
  })

  .put("/:id/media/tracks/close", jsonBodyGuard, validate("json", MediaCloseBody), authenticate(), async (c) => {
    const room = c.var.meetingRoom;
    const claims = c.var.claims;
    const { tracks, sessionDescription, force } = c.req.valid("json");
    const grant = unwrap(await room.mediaGrant(claims, { session: "existing" }));
    const sessionId = grant.sessionId as string;
    const mids = tracks.map((track) => track.mid);
    const answer = await sfuOf(c.env).closeTracks(sessionId, mids, sessionDescription, force);
    // A track the SFU failed to close for another reason stays recorded: it may still be flowing.
    const stillOpen = new Set(
      answer.tracks.filter((t) => t.errorCode && t.errorCode !== GONE_AT_SFU).map((t) => t.mid),
    );
    unwrap(
      await room.mediaTracksClosed(
        claims,
        sessionId,
        mids.filter((mid) => !stillOpen.has(mid)),
      ),
    );
    return c.json(clientCloseAnswer(answer), 200);
  });
