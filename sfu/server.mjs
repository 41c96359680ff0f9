// @ts-check
/**
 * A local stand-in for Cloudflare Realtime SFU's Connection API, for
 * development and tests: the operations MeetTime's worker calls, at
 * `<url>/apps/<appId>/...`, behind `Authorization: Bearer <appSecret>`,
 * forwarding real RTP between WebRTC clients on 127.0.0.1 (werift).
 *
 *   npm run sfu      SFU_PORT [8790], SFU_APP_ID [local-sfu-app], SFU_APP_SECRET [local-sfu-secret]
 *
 * What it does not emulate is in sfu/README.md.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { LOOPBACK_ADDRESS } from "./loopback.mjs";
import { PublicationRegistry, SfuError, SfuSession } from "./session.mjs";

export const DEFAULT_SFU_PORT = 8790;
export const DEFAULT_SFU_APP_ID = "local-sfu-app";
export const DEFAULT_SFU_APP_SECRET = "local-sfu-secret";
/**
 * A session whose client has sent nothing (browsers send consent checks every few seconds) for this
 * long is closed, as Cloudflare expires sessions: pages reloaded all day would otherwise pile up.
 */
export const DEFAULT_SESSION_IDLE_TIMEOUT_MS = 30_000;
/** Bodies larger than this are refused: a few dozen tracks' SDP is far smaller. */
const MAX_BODY_BYTES = 1_000_000;

const sessionDescriptionSchema = z.object({ type: z.enum(["offer", "answer"]), sdp: z.string() });
const newSessionSchema = z.object({ sessionDescription: sessionDescriptionSchema.optional() });
const localTrackSchema = z.object({
  location: z.literal("local"),
  mid: z.string().min(1),
  trackName: z.string().min(1),
});
const remoteTrackSchema = z.object({
  location: z.literal("remote"),
  sessionId: z.string().min(1),
  trackName: z.string().min(1),
});
const newTracksSchema = z.object({
  sessionDescription: sessionDescriptionSchema.optional(),
  tracks: z.array(z.discriminatedUnion("location", [localTrackSchema, remoteTrackSchema])).min(1),
});
const renegotiateSchema = z.object({ sessionDescription: sessionDescriptionSchema });
const closeTracksSchema = z.object({
  sessionDescription: sessionDescriptionSchema.optional(),
  tracks: z.array(z.object({ mid: z.string().min(1) })).min(1),
  force: z.boolean().optional(),
});

/**
 * @typedef {{
 *   port?: number,
 *   appId?: string,
 *   appSecret?: string,
 *   sessionIdleTimeoutMs?: number,
 *   peers?: import("./loopback.mjs").PeerScope,
 * }} LocalSfuOptions
 * @typedef {{
 *   url: string,
 *   close: () => Promise<void>,
 *   refusedSends: () => readonly string[],
 * }} LocalSfu
 */

/**
 * Starts the local SFU on 127.0.0.1. `url` is the API base to use as
 * `SFU_API_BASE_URL` (it ends in `/v1`, like Cloudflare's); `refusedSends()`
 * lists the addresses off this machine its sockets refused to send to.
 *
 * @example
 * const sfu = await startLocalSfu({ port: 0, appId: "app", appSecret: "secret" });
 * await fetch(`${sfu.url}/apps/app/sessions/new`, { method: "POST", headers: { authorization: "Bearer secret" } });
 * await sfu.close();
 *
 * @param {LocalSfuOptions} [options] port 0 picks a free one; sessionIdleTimeoutMs [30 s]: a session
 *   whose client has been silent that long is closed (later calls on it are 404); peers ["loopback"]:
 *   "machine" also answers browsers on this machine's own addresses (a stock browser needs it)
 * @returns {Promise<LocalSfu>}
 */
export async function startLocalSfu({
  port = DEFAULT_SFU_PORT,
  appId = DEFAULT_SFU_APP_ID,
  appSecret = DEFAULT_SFU_APP_SECRET,
  sessionIdleTimeoutMs = DEFAULT_SESSION_IDLE_TIMEOUT_MS,
  peers = "loopback",
} = {}) {
  /** @type {Map<string, SfuSession>} */
  const sessions = new Map();
  const registry = new PublicationRegistry();
  /** @type {Set<string>} each address once: a refused peer retries on every retransmission */
  const refused = new Set();
  const onRefusedSend = (/** @type {string} */ address) => {
    if (refused.has(address)) return;
    refused.add(address);
    console.warn(`local SFU: refused to send to ${address}, which is not on this machine`);
  };

  /**
   * @param {string} method
   * @param {string[]} route path segments after /v1/apps/<appId>
   * @param {() => Promise<unknown>} readBody
   * @returns {Promise<{ status: number, body: object }>}
   */
  async function handle(method, route, readBody) {
    if (method === "POST" && route.length === 2 && route[0] === "sessions" && route[1] === "new") {
      const { sessionDescription } = parse(newSessionSchema, (await readBody()) ?? {});
      const session = new SfuSession(randomBytes(16).toString("hex"), registry, { scope: peers, onRefusedSend });
      try {
        const answer = sessionDescription && (await session.answer(sessionDescription));
        sessions.set(session.id, session);
        return { status: 201, body: { sessionId: session.id, ...(answer && { sessionDescription: answer }) } };
      } catch (error) {
        await session.close();
        throw error;
      }
    }
    if (route[0] !== "sessions" || !route[1]) throw notFound();
    const session = sessions.get(route[1]);
    const operation = `${method} ${route.slice(2).join("/")}`;
    if (!session) {
      if (["GET ", "POST tracks/new", "PUT renegotiate", "PUT tracks/close"].includes(operation)) {
        throw new SfuError(404, "not_found", `Session ${route[1]} not found`);
      }
      throw notFound();
    }
    switch (operation) {
      case "GET ":
        return { status: 200, body: session.state() };
      case "POST tracks/new": {
        const { sessionDescription, tracks } = parse(newTracksSchema, await readBody());
        const local = tracks.filter((track) => track.location === "local");
        const remote = tracks.filter((track) => track.location === "remote");
        if (local.length > 0 && remote.length > 0) {
          throw new SfuError(400, "invalid_params", "Publish (local) and pull (remote) tracks in separate requests");
        }
        if (local.length > 0) {
          if (sessionDescription?.type !== "offer") {
            throw new SfuError(400, "invalid_params", "Local tracks need an SDP offer (sessionDescription)");
          }
          return { status: 200, body: await session.serialized(() => session.publish(sessionDescription, local)) };
        }
        if (sessionDescription) {
          throw new SfuError(400, "invalid_params", "Pulling remote tracks takes no sessionDescription here");
        }
        return { status: 200, body: await session.serialized(() => session.pull(remote)) };
      }
      case "PUT renegotiate": {
        const { sessionDescription } = parse(renegotiateSchema, await readBody());
        return { status: 200, body: await session.serialized(() => session.renegotiate(sessionDescription)) };
      }
      case "PUT tracks/close": {
        const { sessionDescription, tracks, force = false } = parse(closeTracksSchema, await readBody());
        if (!force && !sessionDescription) {
          throw new SfuError(400, "invalid_params", "Without force, sessionDescription must hold the client's offer");
        }
        const mids = tracks.map((track) => track.mid);
        return { status: 200, body: await session.serialized(() => session.closeTracks(mids, sessionDescription)) };
      }
      default:
        throw notFound();
    }
  }

  const server = createServer(async (request, response) => {
    /** @type {{ status: number, body: object }} */
    let answer;
    try {
      const url = new URL(request.url ?? "/", "http://localhost");
      const [version, apps, requestedAppId, ...route] = url.pathname.split("/").slice(1);
      if (version !== "v1" || apps !== "apps" || !requestedAppId) throw notFound();
      if (request.headers.authorization !== `Bearer ${appSecret}`) {
        throw new SfuError(401, "unauthorized", "Missing or invalid Authorization bearer token");
      }
      if (requestedAppId !== appId) throw new SfuError(404, "not_found", `App ${requestedAppId} not found`);
      answer = await handle(request.method ?? "GET", route, () => readJson(request));
    } catch (error) {
      if (!(error instanceof SfuError)) console.error("local SFU: unexpected error", error);
      const refusal = error instanceof SfuError ? error : new SfuError(500, "internal_error", "Backend error");
      answer = {
        status: refusal.status,
        body: { errorCode: refusal.errorCode, errorDescription: refusal.errorDescription },
      };
    }
    // No keep-alive: a client that reuses a socket just as Node closes it (5 s idle) gets a reset,
    // which the worker reports as the SFU unreachable (503). A loopback connection per call is cheap.
    response.writeHead(answer.status, { "content-type": "application/json", connection: "close" });
    response.end(JSON.stringify(answer.body));
  });

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, LOOPBACK_ADDRESS, () => resolve(undefined));
  });
  // Only sessions that have heard from their client can fall silent: one created without an
  // offer, waiting for its first tracks, stays.
  const reaper = setInterval(
    () => {
      const now = Date.now();
      for (const [id, session] of sessions) {
        if (session.lastHeardAt === undefined || now - session.lastHeardAt < sessionIdleTimeoutMs) continue;
        sessions.delete(id);
        void session.close();
      }
    },
    Math.min(10_000, sessionIdleTimeoutMs / 4),
  );
  reaper.unref();

  const address = server.address();
  const boundPort = typeof address === "object" && address ? address.port : port;

  return {
    url: `http://${LOOPBACK_ADDRESS}:${boundPort}/v1`,
    refusedSends: () => [...refused],
    close: async () => {
      clearInterval(reaper);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
      await Promise.all([...sessions.values()].map((session) => session.close()));
      sessions.clear();
    },
  };
}

function notFound() {
  return new SfuError(404, "not_found", "No such operation");
}

/**
 * `body` checked against `schema`, or a 400 in Cloudflare's error shape.
 * @template {z.ZodType} S
 * @param {S} schema
 * @param {unknown} body
 * @returns {z.infer<S>}
 */
function parse(schema, body) {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new SfuError(400, "invalid_params", `${issue?.path.join(".") || "body"}: ${issue?.message}`);
  }
  return result.data;
}

/**
 * The request's JSON body, `undefined` when empty.
 * @param {import("node:http").IncomingMessage} request
 * @returns {Promise<unknown>}
 */
async function readJson(request) {
  let size = 0;
  /** @type {Buffer[]} */
  const chunks = [];
  for await (const chunk of request) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new SfuError(413, "decoding_error", "The request body is too large");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new SfuError(400, "decoding_error", "The request could not be decoded");
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const peers = process.env.SFU_PEERS ?? "machine";
  if (peers !== "machine" && peers !== "loopback") {
    console.error(`SFU_PEERS must be "machine" or "loopback", not "${peers}"`);
    process.exit(2);
  }
  const sfu = await startLocalSfu({
    port: Number(process.env.SFU_PORT ?? DEFAULT_SFU_PORT),
    appId: process.env.SFU_APP_ID ?? DEFAULT_SFU_APP_ID,
    appSecret: process.env.SFU_APP_SECRET ?? DEFAULT_SFU_APP_SECRET,
    // By default a developer's stock browser, which reaches 127.0.0.1 from the machine's own address, is answered there.
    peers,
  });
  console.log(`local SFU listening: SFU_API_BASE_URL=${sfu.url}`);
  for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
    process.on(signal, () => void sfu.close().then(() => process.exit(0)));
  }
}
