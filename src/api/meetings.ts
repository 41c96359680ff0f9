/**
 * REST for meetings. Each handler validates, authenticates and hands the
 * action to the meeting's Durable Object; no meeting rule is decided here.
 */
import { Hono } from "hono";
import { createFactory, createMiddleware } from "hono/factory";
import { authenticate, verifyMeetingToken } from "../auth/middleware";
import { ICS_MEDIA_TYPE, meetingCalendar } from "../calendar/ics";
import { loadConfig, requireJwtSecret } from "../config";
import type { Env } from "../env";
import { isTransientRuntimeError } from "../error-path";
import { AppError, type Outcome, unwrap } from "../errors";
import { jsonBodyGuard, validate } from "../http/json-body";
import { noStore } from "../http/no-store";
import { iceFieldsFor, iceServersForParticipant } from "../ice/answer";
import { idFromString } from "../lib/durable-ids";
import { CLAIMS_HEADER, SINCE_HEADER, SUBPROTOCOL_HEADER } from "../meeting/connection";
import type { CreateResult } from "../meeting/lifecycle";
import {
  CalendarQuery,
  CreateMeetingBody,
  type CreateMeetingInput,
  DatetimeUpdateBody,
  EmptyBody,
  IfMatchHeader,
  JoinBody,
  KickBody,
  MEETING_ID_PATTERN,
  MintTokensBody,
  WebSocketQuery,
} from "../protocol/schemas";
import { media } from "./media";

/** The meeting's Durable Object; an id the namespace did not mint is 404, without touching storage. */
export function meetingStub(env: Env, meetingId: string) {
  if (!MEETING_ID_PATTERN.test(meetingId)) throw new AppError("NOT_FOUND", "meeting not found");
  try {
    return env.MEETINGS.get(idFromString(env.MEETINGS, meetingId));
  } catch {
    throw new AppError("NOT_FOUND", "meeting not found");
  }
}

/**
 * The token of a WebSocket upgrade: `?token=`, or the subprotocol pair
 * `meettime, <token>`. A client that offers `meettime` gets it answered even
 * when its token came in the query: a browser fails a handshake whose offered
 * subprotocols all go unanswered.
 */
function socketToken(queryToken: string | undefined, protocolHeader: string | undefined) {
  const protocols = (protocolHeader ?? "").split(",").map((p) => p.trim());
  const offersMeettime = protocols[0] === "meettime";
  const token = queryToken || (offersMeettime && protocols[1] ? protocols[1] : undefined);
  return { token, answerSubprotocol: offersMeettime };
}

/** Headers by which the worker speaks to the meeting object; a client's own copies are dropped. */
const INTERNAL_HEADERS = [CLAIMS_HEADER, SINCE_HEADER, SUBPROTOCOL_HEADER];

declare module "hono" {
  interface ContextVariableMap {
    /** The object of the meeting in the path, set by `knownMeetingId` on every `/:id` route. */
    meetingRoom: ReturnType<typeof meetingStub>;
  }
}

/**
 * The contract's first check is the id's shape: an id this namespace never
 * minted is 404 before the body or the token is looked at. The stub is kept
 * for the handler, so the id is parsed once per request.
 */
const knownMeetingId = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  c.set("meetingRoom", meetingStub(c.env, c.req.param("id") ?? ""));
  await next();
});

/** Attempts of a create: a transient failure is retried once on a fresh object, never on the same one. */
const CREATE_ATTEMPTS = 2;

/**
 * Creates the meeting on a new object. The object's create is one atomic
 * write and empties itself again if a later step fails, so an attempt that
 * failed transiently (`UNAVAILABLE`, or the runtime's load errors on the
 * call) left nothing and is repeated on a fresh id; the last failure is
 * answered (503 for load, never 500).
 */
async function createOnFreshObject(env: Env, input: CreateMeetingInput, onId: (id: string) => void) {
  // Contract 1.2: the deployment's SFU settings at creation fix the meeting's media for its whole life.
  const mediaMode = loadConfig(env).sfu ? "sfu" : "mesh";
  for (let attempt = 1; ; attempt++) {
    const retryable = attempt < CREATE_ATTEMPTS;
    const id = env.MEETINGS.newUniqueId().toString();
    onId(id);
    let outcome: Outcome<CreateResult>;
    try {
      outcome = (await meetingStub(env, id).create(id, input, mediaMode)) as Outcome<CreateResult>;
    } catch (error) {
      if (retryable && isTransientRuntimeError(error)) continue;
      throw error;
    }
    if (retryable && !outcome.ok && outcome.error.code === "UNAVAILABLE") continue;
    return unwrap(outcome);
  }
}

const createMeeting = createFactory<{ Bindings: Env }>().createHandlers(
  jsonBodyGuard,
  validate("json", CreateMeetingBody),
  async (c) => {
    const config = loadConfig(c.env);
    const input = c.req.valid("json");
    // The bound is this deployment's setting, so it is checked here rather than in the schema.
    const maxParticipants = input.maxParticipants ?? config.maxParticipantsPerMeeting;
    if (maxParticipants > config.maxParticipantsPerMeeting) {
      throw new AppError("VALIDATION_FAILED", "request validation failed", {
        fields: { maxParticipants: [`must be at most ${config.maxParticipantsPerMeeting}`] },
      });
    }
    // Fail closed before a meeting object exists: a meeting nobody can hold a token for is useless.
    requireJwtSecret(config);
    const created = await createOnFreshObject(c.env, { ...input, maxParticipants }, (id) => c.set("meetingId", id));
    return c.json({ ...created, ...(await iceFieldsFor(c.env, created.participant.id, created.hostToken)) }, 201);
  },
);

/** For actions without a body: none, or `{}`; any other declared-JSON body is validated and refused. */
const noBody = [jsonBodyGuard, validate("json", EmptyBody)] as const;

export const meetings = new Hono<{ Bindings: Env }>()
  .use("*", noStore)
  // `POST /api/meetings` is an alias of `POST /api/meetings/create`.
  .post("/", ...createMeeting)
  .post("/create", ...createMeeting)

  .post("/join", jsonBodyGuard, validate("json", JoinBody), async (c) => {
    const { token, displayName } = c.req.valid("json");
    const claims = await verifyMeetingToken(c.env, token);
    c.set("meetingId", claims.meetingId);
    const joined = unwrap(await meetingStub(c.env, claims.meetingId).join(claims, displayName));
    return c.json({ ...joined, ...(await iceFieldsFor(c.env, joined.participant.id, joined.sessionToken)) }, 200);
  })

  // Every route from here on concerns the meeting in the path. `/:id/*` also matches `/:id` (one
  // registration, so the id is parsed once) and the static routes above, which answer before it
  // would run: Hono runs a request's handlers in registration order. The id's shape is checked
  // here rather than by a regex in the pattern, which Hono's router tests against the rest of the
  // path at every step (5 µs of each request).
  .use("/:id/*", knownMeetingId)

  // Contract 1.2: /:id/media/* (api/media.ts).
  .route("/", media)

  .get("/:id", authenticate(), async (c) => {
    const result = unwrap(await c.var.meetingRoom.read(c.var.claims));
    c.header("ETag", `"${result.meeting.version}"`);
    return c.json(result, 200);
  })

  .delete("/:id", ...noBody, authenticate(), async (c) => {
    return c.json(unwrap(await c.var.meetingRoom.terminate(c.var.claims)), 200);
  })

  .post("/:id/tokens", jsonBodyGuard, validate("json", MintTokensBody), authenticate(), async (c) => {
    const stub = c.var.meetingRoom;
    return c.json(unwrap(await stub.mintJoinTokens(c.var.claims, c.req.valid("json"))), 201);
  })

  .post("/:id/host-token", ...noBody, authenticate(), async (c) => {
    return c.json(unwrap(await c.var.meetingRoom.mintHostToken(c.var.claims)), 201);
  })

  .put(
    "/:id/datetime",
    jsonBodyGuard,
    validate("json", DatetimeUpdateBody),
    validate("header", IfMatchHeader),
    authenticate(),
    async (c) => {
      const stub = c.var.meetingRoom;
      const ifMatch = c.req.valid("header")["if-match"];
      const result = unwrap(await stub.updateDatetime(c.var.claims, c.req.valid("json"), ifMatch));
      c.header("ETag", `"${result.meeting.version}"`);
      return c.json(result, 200);
    },
  )

  .post("/:id/kick", jsonBodyGuard, validate("json", KickBody), authenticate(), async (c) => {
    const stub = c.var.meetingRoom;
    return c.json(unwrap(await stub.kick(c.var.claims, c.req.valid("json"))), 200);
  })

  .post("/:id/leave", ...noBody, authenticate(), async (c) => {
    return c.json(unwrap(await c.var.meetingRoom.leave(c.var.claims)), 200);
  })

  // Contract 1.1: a session renews itself; a read-only calendar token; fresh ICE credentials.
  .post("/:id/session-token", ...noBody, authenticate(), async (c) => {
    return c.json(unwrap(await c.var.meetingRoom.renewSession(c.var.claims)), 201);
  })

  .post("/:id/calendar-token", ...noBody, authenticate(), async (c) => {
    return c.json(unwrap(await c.var.meetingRoom.mintCalendarToken(c.var.claims)), 201);
  })

  .get("/:id/ice-servers", authenticate(), async (c) => {
    const { participantId, notAfter } = unwrap(await c.var.meetingRoom.iceGrant(c.var.claims));
    return c.json(await iceServersForParticipant(c.env, participantId, notAfter), 200);
  })

  .get("/:id/stats", authenticate(), async (c) => {
    return c.json(unwrap(await c.var.meetingRoom.stats(c.var.claims)), 200);
  })

  // Calendar apps subscribe to a URL and cannot send headers, hence `?token=`; reading it is the `GET` rule.
  .get("/:id/calendar.ics", validate("query", CalendarQuery), authenticate({ allowQueryToken: true }), async (c) => {
    const { meeting } = unwrap(await c.var.meetingRoom.readCalendar(c.var.claims));
    return c.body(meetingCalendar(meeting), 200, {
      "Content-Type": ICS_MEDIA_TYPE,
      "Content-Disposition": `inline; filename="meettime-${meeting.id.slice(0, 12)}.ics"`,
    });
  })

  .get("/:id/ws", validate("query", WebSocketQuery), async (c) => {
    const { since, token: queryToken } = c.req.valid("query");
    const { token, answerSubprotocol } = socketToken(queryToken, c.req.header("sec-websocket-protocol"));
    const claims = await verifyMeetingToken(c.env, token, c.req.param("id"));
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new AppError("UPGRADE_REQUIRED", "this route takes a WebSocket upgrade (Upgrade: websocket)");
    }
    const headers = new Headers(c.req.raw.headers);
    for (const name of INTERNAL_HEADERS) headers.delete(name);
    headers.set(CLAIMS_HEADER, JSON.stringify(claims));
    if (since !== undefined) headers.set(SINCE_HEADER, String(since));
    if (answerSubprotocol) headers.set(SUBPROTOCOL_HEADER, "1");
    // Without the query: a `?token=` must not reach the object's own invocation record.
    const forwarded = new URL(c.req.url);
    forwarded.search = "";
    const response = await c.var.meetingRoom.fetch(forwarded.href, { headers });
    // A fresh Response, so the middleware after us may still add headers to the 101. Hono merges
    // the headers set so far (request id, rate limit) only into an answer that replaces one it
    // made: reading `c.res` makes that one.
    void c.res;
    return new Response(response.body, {
      status: response.status,
      headers: response.headers,
      webSocket: response.webSocket,
    });
  });
