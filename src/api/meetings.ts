/**
 * REST for meetings. Each handler validates, authenticates and hands the
 * action to the meeting's Durable Object; no meeting rule is decided here.
 */
import { Hono } from "hono";
import { createFactory } from "hono/factory";
import type { Env } from "../env";
import { AppError, unwrap } from "../errors";
import { jsonBodyGuard, validate } from "../http/json-body";
import { CLAIMS_HEADER, SINCE_HEADER, SUBPROTOCOL_HEADER } from "../meeting/meeting";
import {
  CreateMeetingBody,
  DatetimeUpdateBody,
  IfMatchHeader,
  JoinBody,
  KickBody,
  MEETING_ID_PATTERN,
  MintTokensBody,
  WebSocketQuery,
} from "../protocol/schemas";
import { authenticate, verifyMeetingToken } from "./auth";

/** Route parameter that only matches well-formed meeting ids; anything else falls through to 404. */
export const MEETING_ID_PARAM = ":id{[0-9a-f]{64}}";

/** The meeting's Durable Object; an id the namespace did not mint is 404, without touching storage. */
export function meetingStub(env: Env, meetingId: string) {
  if (!MEETING_ID_PATTERN.test(meetingId)) throw new AppError("NOT_FOUND", "meeting not found");
  try {
    return env.MEETINGS.get(env.MEETINGS.idFromString(meetingId));
  } catch {
    throw new AppError("NOT_FOUND", "meeting not found");
  }
}

/** The token of a WebSocket upgrade: `?token=`, or the subprotocol pair `meettime, <token>`. */
function socketToken(queryToken: string | undefined, protocolHeader: string | undefined) {
  if (queryToken) return { token: queryToken, viaSubprotocol: false };
  const protocols = (protocolHeader ?? "").split(",").map((p) => p.trim());
  if (protocols[0] === "meettime" && protocols[1]) return { token: protocols[1], viaSubprotocol: true };
  return { token: undefined, viaSubprotocol: false };
}

const createMeeting = createFactory<{ Bindings: Env }>().createHandlers(
  jsonBodyGuard,
  validate("json", CreateMeetingBody),
  async (c) => {
    const id = c.env.MEETINGS.newUniqueId().toString();
    return c.json(unwrap(await meetingStub(c.env, id).create(id, c.req.valid("json"))), 201);
  },
);

export const meetings = new Hono<{ Bindings: Env }>()
  // `POST /api/meetings` is an alias of `POST /api/meetings/create`.
  .post("/", ...createMeeting)
  .post("/create", ...createMeeting)

  .post("/join", jsonBodyGuard, validate("json", JoinBody), async (c) => {
    const { token, displayName } = c.req.valid("json");
    const claims = await verifyMeetingToken(c.env, token);
    return c.json(unwrap(await meetingStub(c.env, claims.meetingId).join(claims, displayName)), 200);
  })

  .get(`/${MEETING_ID_PARAM}`, authenticate(), async (c) => {
    const result = unwrap(await meetingStub(c.env, c.req.param("id")).read(c.var.claims));
    c.header("ETag", `"${result.meeting.version}"`);
    return c.json(result, 200);
  })

  .delete(`/${MEETING_ID_PARAM}`, authenticate(), async (c) => {
    return c.json(unwrap(await meetingStub(c.env, c.req.param("id")).terminate(c.var.claims)), 200);
  })

  .post(`/${MEETING_ID_PARAM}/tokens`, jsonBodyGuard, validate("json", MintTokensBody), authenticate(), async (c) => {
    const stub = meetingStub(c.env, c.req.param("id"));
    return c.json(unwrap(await stub.mintJoinTokens(c.var.claims, c.req.valid("json"))), 201);
  })

  .post(`/${MEETING_ID_PARAM}/host-token`, authenticate(), async (c) => {
    return c.json(unwrap(await meetingStub(c.env, c.req.param("id")).mintHostToken(c.var.claims)), 201);
  })

  .put(
    `/${MEETING_ID_PARAM}/datetime`,
    jsonBodyGuard,
    validate("json", DatetimeUpdateBody),
    validate("header", IfMatchHeader),
    authenticate(),
    async (c) => {
      const stub = meetingStub(c.env, c.req.param("id"));
      const ifMatch = c.req.valid("header")["if-match"];
      const result = unwrap(await stub.updateDatetime(c.var.claims, c.req.valid("json"), ifMatch));
      c.header("ETag", `"${result.meeting.version}"`);
      return c.json(result, 200);
    },
  )

  .post(`/${MEETING_ID_PARAM}/kick`, jsonBodyGuard, validate("json", KickBody), authenticate(), async (c) => {
    const stub = meetingStub(c.env, c.req.param("id"));
    return c.json(unwrap(await stub.kick(c.var.claims, c.req.valid("json"))), 200);
  })

  .post(`/${MEETING_ID_PARAM}/leave`, authenticate(), async (c) => {
    return c.json(unwrap(await meetingStub(c.env, c.req.param("id")).leave(c.var.claims)), 200);
  })

  .get(`/${MEETING_ID_PARAM}/ws`, validate("query", WebSocketQuery), async (c) => {
    const { since, token: queryToken } = c.req.valid("query");
    const { token, viaSubprotocol } = socketToken(queryToken, c.req.header("sec-websocket-protocol"));
    const claims = await verifyMeetingToken(c.env, token, c.req.param("id"));
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new AppError("UPGRADE_REQUIRED", "this route takes a WebSocket upgrade (Upgrade: websocket)");
    }
    const headers = new Headers(c.req.raw.headers);
    headers.set(CLAIMS_HEADER, JSON.stringify(claims));
    if (since !== undefined) headers.set(SINCE_HEADER, String(since));
    if (viaSubprotocol) headers.set(SUBPROTOCOL_HEADER, "1");
    const response = await meetingStub(c.env, c.req.param("id")).fetch(c.req.url, { headers });
    // A fresh Response, so the middleware after us may still add headers to the 101.
    return new Response(response.body, {
      status: response.status,
      headers: response.headers,
      webSocket: response.webSocket,
    });
  });
