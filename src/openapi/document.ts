/**
 * The OpenAPI 3.1 document, generated from the route table and the zod
 * schemas the routes validate with (zod 4's own `z.toJSONSchema`, whose
 * draft 2020-12 output is what OpenAPI 3.1 speaks). Request schemas are
 * rendered as the input a client sends (defaults optional, transforms seen
 * from their input side), responses as the output it receives. Named
 * schemas become components under the name they are exported with.
 */
import { z } from "zod";
import { ERROR_STATUS, type ErrorCode } from "../errors";
import * as schemas from "../protocol/schemas";
import { ROUTES, type RouteDoc, type TokenCarrier } from "./routes";
import { webSocketDescription } from "./websocket";

type JsonObject = { [key: string]: unknown };

export interface ServiceInfo {
  title: string;
  version: string;
}

const ERROR_WHEN: Record<ErrorCode, string> = {
  VALIDATION_FAILED: "body, query or params fail the schema; malformed JSON (`details.fields` names the fields)",
  UNAUTHORIZED: "missing, malformed, expired or wrongly signed token, or a token of another meeting",
  FORBIDDEN: "valid token, but the role may not do this, or the session was revoked",
  NOT_FOUND: "unknown route, unknown or malformed meeting id, unknown participant",
  TOKEN_ALREADY_USED: "the join token was already redeemed",
  VERSION_CONFLICT: "stale `expectedVersion`/`If-Match`; `details.meeting` holds the current meeting",
  MEETING_FULL: "joining would exceed `maxParticipants`",
  MEETING_ENDED: "the meeting was terminated",
  PAYLOAD_TOO_LARGE: "body over 64 KiB",
  UNSUPPORTED_MEDIA_TYPE: "a body that is not `application/json`",
  UPGRADE_REQUIRED: "the WebSocket route without `Upgrade: websocket`",
  RATE_LIMITED: "over the REST rate limit; see `Retry-After`",
  INTERNAL: "a bug, or the server lacks its configuration; never leaks details",
  INVITE_LIMIT: "minting would leave more than 1,000 unredeemed, unexpired invites",
  UNAVAILABLE: "overloaded or a transient storage failure; nothing changed, retry after `Retry-After`",
  MEDIA_MODE: "a `/media/*` route on a meeting whose media is `mesh`",
};

const SECURITY_SCHEMES = {
  bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "`Authorization: Bearer <token>`" },
  query: { type: "apiKey", in: "query", name: "token", description: "`?token=<token>`, for links and sockets" },
} satisfies Record<TokenCarrier, JsonObject>;

/** Frame unions: documented as components, referenced from the WebSocket route. */
const FRAME_SCHEMAS = { input: [schemas.ClientFrame], output: [schemas.ServerEvent] };
/** Objects worth a name of their own even where only nested. */
const OBJECT_SCHEMAS = [schemas.Meeting, schemas.Participant, schemas.ParticipantState, schemas.ChatMessage];

const componentRef = (name: string) => `#/components/schemas/${name}`;

const EXPORT_NAMES = new Map<unknown, string>(Object.entries(schemas).map(([name, value]) => [value, name]));

function exportName(schema: z.ZodType): string {
  const name = EXPORT_NAMES.get(schema);
  if (!name) throw new Error("route schemas must be named exports of protocol/schemas");
  return name;
}

/** JSON Schema for each named schema, cross-referenced by `$ref`, from one side (input or output). */
function components(named: z.ZodType[], io: "input" | "output"): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const schema of new Set(named)) registry.add(schema, { id: exportName(schema) });
  const { schemas: rendered } = z.toJSONSchema(registry, {
    io,
    target: "draft-2020-12",
    uri: componentRef,
    unrepresentable: "any",
  });
  const result: Record<string, JsonObject> = {};
  for (const [name, schema] of Object.entries(rendered)) {
    // Each component is embedded in the document, not a standalone schema resource.
    const { $schema: _dialect, $id: _id, ...rest } = schema as JsonObject;
    result[name] = rest;
  }
  return result;
}

/** One name may not mean both a request and a response shape: they differ where defaults and transforms apply. */
function mergeSides(input: Record<string, JsonObject>, output: Record<string, JsonObject>) {
  const both = Object.keys(input).filter((name) => name in output);
  if (both.length > 0) throw new Error(`schemas used both as request and response: ${both.join(", ")}`);
  return { ...input, ...output };
}

function parameters(schema: z.ZodObject, location: "query" | "header"): JsonObject[] {
  const rendered = z.toJSONSchema(schema, { io: "input", target: "draft-2020-12", unrepresentable: "any" });
  const required = new Set(rendered.required ?? []);
  return Object.entries(rendered.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: required.has(name),
    schema: property,
  }));
}

const MEETING_ID_PARAMETER = {
  name: "id",
  in: "path",
  required: true,
  description: "The meeting id (64 lowercase hex characters); any other shape is 404.",
  schema: { type: "string", pattern: schemas.MEETING_ID_PATTERN.source },
};

function errorResponses(route: RouteDoc): Record<string, JsonObject> {
  const codes = new Set<ErrorCode>(route.errors ?? []);
  if (route.path.startsWith("/api/")) codes.add("RATE_LIMITED");
  codes.add("INTERNAL");
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  const responses: Record<string, JsonObject> = {};
  for (const [status, statusCodes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const examples = Object.fromEntries(
      statusCodes.map((code) => [code, { value: { error: { code, message: ERROR_WHEN[code] } } }]),
    );
    responses[status] = {
      description: statusCodes.map((code) => `\`${code}\`: ${ERROR_WHEN[code]}`).join("; "),
      ...(status === 429 && {
        headers: { "Retry-After": { description: "Seconds until a retry may succeed.", schema: { type: "integer" } } },
      }),
      content: { "application/json": { schema: { $ref: componentRef("ErrorEnvelope") }, examples } },
    };
  }
  return responses;
}

function successResponse(route: RouteDoc): JsonObject {
  const { status, description, schema, mediaType = "application/json", headers } = route.success;
  const response: JsonObject = { description };
  if (headers) {
    response.headers = Object.fromEntries(
      Object.entries(headers).map(([name, text]) => [name, { description: text, schema: { type: "string" } }]),
    );
  }
  if (status !== 101) {
    const bodySchema = schema
      ? { $ref: componentRef(exportName(schema)) }
      : { type: mediaType === "application/json" ? "object" : "string" };
    response.content = { [mediaType]: { schema: bodySchema } };
  }
  return { [status]: response };
}

function operation(route: RouteDoc): JsonObject {
  const isWebSocket = route.success.status === 101;
  const description = [
    route.description,
    route.auth && `Token: ${route.auth.who}.`,
    isWebSocket && webSocketDescription(),
  ]
    .filter(Boolean)
    .join("\n\n");
  const op: JsonObject = {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    security: route.auth ? route.auth.via.map((carrier) => ({ [carrier]: [] })) : [],
  };
  if (description) op.description = description;
  const params = [
    ...(route.path.includes(":id") ? [MEETING_ID_PARAMETER] : []),
    // A query token is described by its security scheme, not again as a parameter.
    ...(route.query ? parameters(route.query, "query").filter((p) => !(p.name === "token" && route.auth)) : []),
    ...(route.headers ? parameters(route.headers, "header") : []),
  ];
  if (params.length > 0) op.parameters = params;
  if (route.body) {
    op.requestBody = {
      required: true,
      content: { "application/json": { schema: { $ref: componentRef(exportName(route.body)) } } },
    };
  }
  op.responses = { ...successResponse(route), ...errorResponses(route) };
  if (isWebSocket) {
    op["x-websocket"] = {
      subprotocol: "meettime",
      clientFrames: { $ref: componentRef("ClientFrame") },
      serverEvents: { $ref: componentRef("ServerEvent") },
    };
  }
  return op;
}

/** `/api/meetings/:id/kick` → `/api/meetings/{id}/kick`. */
export function openApiPath(path: string): string {
  return path.replace(/:(\w+)/g, "{$1}");
}

/**
 * Builds the whole document; pure, so Node tools can validate it too.
 * @example c.json(openApiDocument({ title: "MeetTime", version: "1.0.0" }))
 */
export function openApiDocument(info: ServiceInfo): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of ROUTES) {
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route) };
  }
  const requestSchemas = ROUTES.flatMap((route) => (route.body ? [route.body] : []));
  const responseSchemas = ROUTES.flatMap((route) => (route.success.schema ? [route.success.schema] : []));
  return {
    openapi: "3.1.0",
    info: {
      title: info.title,
      version: info.version,
      description: [
        "Video meetings whose time can be edited live. Bodies are JSON; times are ISO-8601, answered in UTC.",
        "Every error has the shape `{ error: { code, message, details? } }`. Checks run in this order and the first failure answers: route and id shape (404), body or query (400, 413, 415), token (401), WebSocket upgrade (426), meeting existence (404), role and revocation (403), meeting state (410), the action's own rules (409, or 400).",
      ].join("\n\n"),
    },
    tags: [
      { name: "Meetings", description: "Create, join, read and control meetings." },
      { name: "Calendar", description: "iCalendar feed of a meeting." },
      { name: "Realtime", description: "The meeting WebSocket: chat, presence, signaling, live reschedules." },
      { name: "Service", description: "Health, index and these docs." },
    ],
    paths,
    components: {
      schemas: mergeSides(
        components([...requestSchemas, ...FRAME_SCHEMAS.input], "input"),
        components([...OBJECT_SCHEMAS, schemas.ErrorEnvelope, ...responseSchemas, ...FRAME_SCHEMAS.output], "output"),
      ),
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}
