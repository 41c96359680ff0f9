/**
 * A stand-in for Cloudflare Realtime SFU's Connection API that answers at
 * once, for `bench:media-routes`: the four operations the worker calls, in
 * the shapes of Cloudflare's document (the same as the local SFU's, see
 * sfu/README.md), with SDP of realistic sizes and no WebRTC behind them, so
 * what the benchmark measures is the worker, not werift. Listens on
 * 127.0.0.1 only. Runs as a child process (its CPU is read from /proc and
 * reported apart): it sends `{ url }` once listening, answers `{ counts }`
 * to `{ counts: true }`, and exits on `{ stop: true }` or when the parent
 * goes away.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { sdpOfSize } from "./lib/sdp.mjs";

const { appId, appSecret } = await new Promise((resolve) => process.once("message", resolve));

/** Sizes of what a Chrome page and Cloudflare's SFU exchange for one audio and one video track. */
const SFU_ANSWER = { type: "answer", sdp: sdpOfSize(1_500, "answer") };
const SFU_OFFER = { type: "offer", sdp: sdpOfSize(2_000, "offer") };

const counts = { "sessions/new": 0, "tracks/new": 0, renegotiate: 0, "tracks/close": 0, refused: 0 };
let nextMid = 0;

/** The operation a path names, with its session: null for a path the worker never calls. */
function route(method, path) {
  const prefix = `/v1/apps/${appId}/sessions/`;
  if (!path.startsWith(prefix)) return null;
  const rest = path.slice(prefix.length);
  if (method === "POST" && rest === "new") return { operation: "sessions/new" };
  const match = /^([^/]+)\/(tracks\/new|renegotiate|tracks\/close)$/.exec(rest);
  if (!match) return null;
  const expected = match[2] === "tracks/new" ? "POST" : "PUT";
  return method === expected ? { operation: match[2], sessionId: match[1] } : null;
}

function answer(operation, body) {
  switch (operation) {
    case "sessions/new":
      return [
        201,
        {
          sessionId: randomBytes(16).toString("hex"),
          ...(body?.sessionDescription ? { sessionDescription: SFU_ANSWER } : {}),
        },
      ];
    case "tracks/new": {
      const remote = body.tracks.some((track) => track.location === "remote");
      return remote
        ? [
            200,
            {
              requiresImmediateRenegotiation: true,
              sessionDescription: SFU_OFFER,
              tracks: body.tracks.map(({ sessionId, trackName }) => ({ sessionId, trackName, mid: String(nextMid++) })),
            },
          ]
        : [
            200,
            {
              requiresImmediateRenegotiation: false,
              sessionDescription: SFU_ANSWER,
              tracks: body.tracks.map(({ mid, trackName }) => ({ mid, trackName })),
            },
          ];
    }
    case "renegotiate":
      return [200, body.sessionDescription.type === "offer" ? { sessionDescription: SFU_ANSWER } : {}];
    case "tracks/close":
      return [
        200,
        {
          requiresImmediateRenegotiation: false,
          ...(body.sessionDescription ? { sessionDescription: SFU_ANSWER } : {}),
          tracks: body.tracks.map(({ mid }) => ({ mid })),
        },
      ];
  }
}

const server = createServer(async (request, response) => {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  const found = route(request.method, new URL(request.url, "http://stub").pathname);
  let status = 404;
  let payload = { errorCode: "not_found", errorDescription: "not an operation of this stand-in" };
  if (request.headers.authorization !== `Bearer ${appSecret}`) {
    status = 401;
    payload = { errorCode: "unauthorized", errorDescription: "wrong or missing bearer secret" };
  } else if (found) {
    const text = Buffer.concat(chunks).toString();
    [status, payload] = answer(found.operation, text ? JSON.parse(text) : undefined);
    counts[found.operation]++;
  }
  if (status >= 400) counts.refused++;
  const json = JSON.stringify(payload);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  response.end(json);
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.send({ url: `http://127.0.0.1:${server.address().port}/v1` }));

process.on("message", (message) => {
  if (message?.counts) process.send({ counts: { ...counts } });
  if (message?.stop) server.close(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
