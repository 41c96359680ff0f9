/**
 * The OpenAPI document checked by an independent validator
 * (@readme/openapi-parser), and read the way a client generator would.
 */
import { compileErrors, validate } from "@readme/openapi-parser";
import { describe, expect, it } from "vitest";
import { openApiDocument, openApiPath } from "../../src/openapi/document";
import { ROUTES } from "../../src/openapi/routes";
import { CLIENT_FRAME_TYPES, SERVER_EVENT_TYPES } from "../../src/openapi/websocket";

const document = openApiDocument({ title: "MeetTime", version: "1.0.0" }) as any;

describe("OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    // The validator dereferences in place: give it a copy.
    const result = await validate(structuredClone(document));
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
    expect(document.openapi).toBe("3.1.0");
  });

  it("lists every route of the table with a unique operationId", () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods as object).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
    );
    expect(operations.map(({ method, path }) => `${method} ${path}`).sort()).toEqual(
      ROUTES.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`).sort(),
    );
    const ids = operations.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("describes the create body from the zod schema, as a client sends it", () => {
    const op = document.paths["/api/meetings/create"].post;
    expect(op.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/CreateMeetingBody",
    });
    const body = document.components.schemas.CreateMeetingBody;
    expect(body.required.sort()).toEqual(["hostName", "scheduledAt", "title"]);
    expect(body.additionalProperties).toBe(false);
    // Counted after trimming: a maxLength would refuse a 200-character title with a trailing space.
    expect(body.properties.title).toMatchObject({ type: "string", minLength: 1, "x-maxLengthAfterTrim": 200 });
    expect(body.properties.title.maxLength).toBeUndefined();
    expect(body.properties.title.description).toContain("after surrounding whitespace is trimmed");
    expect(body.properties.hostName.maxLength).toBeUndefined();
    expect(document.components.schemas.JoinBody.properties.displayName.maxLength).toBeUndefined();
    expect(body.properties.scheduledAt).toMatchObject({ type: "string", format: "date-time" });
    expect(body.properties.durationMinutes).toMatchObject({ type: "integer", minimum: 1, maximum: 1440, default: 60 });
    expect(op.responses["201"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/CreateMeetingResponse",
    });
  });

  it("gives each route its contract errors in the one error shape", () => {
    const update = document.paths["/api/meetings/{id}/datetime"].put;
    expect(Object.keys(update.responses).sort()).toEqual(
      ["200", "400", "401", "403", "404", "409", "410", "413", "415", "429", "500", "503"].sort(),
    );
    expect(update.responses["409"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/ErrorEnvelope",
    });
    expect(Object.keys(update.responses["409"].content["application/json"].examples)).toEqual(["VERSION_CONFLICT"]);
    expect(update.parameters.map((p: any) => `${p.in}:${p.name}`)).toEqual(["path:id", "header:if-match"]);
    expect(update.security).toEqual([{ bearer: [] }]);
    expect(document.paths["/health"].get.responses["429"]).toBeUndefined();
  });

  it("answers 503 with Retry-After on every /api route, and nowhere else", () => {
    for (const route of ROUTES) {
      const unavailable = document.paths[openApiPath(route.path)][route.method.toLowerCase()].responses["503"];
      if (!route.path.startsWith("/api/")) {
        expect(unavailable, route.path).toBeUndefined();
        continue;
      }
      expect(Object.keys(unavailable.content["application/json"].examples), route.path).toEqual(["UNAVAILABLE"]);
      expect(unavailable.headers["Retry-After"]).toMatchObject({ required: true, schema: { type: "integer" } });
    }
  });

  it.each([
    ["delete", "/api/meetings/{id}"],
    ["post", "/api/meetings/{id}/leave"],
    ["post", "/api/meetings/{id}/host-token"],
    ["post", "/api/meetings/{id}/session-token"],
    ["post", "/api/meetings/{id}/calendar-token"],
  ])("lets %s %s take no body or `{}`, and lists 400, 413 and 415", (method, path) => {
    const op = document.paths[path][method];
    expect(op.requestBody.required).toBe(false);
    expect(op.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/EmptyBody" });
    expect(document.components.schemas.EmptyBody).toMatchObject({ type: "object", additionalProperties: false });
    for (const status of ["400", "413", "415"]) expect(op.responses[status], status).toBeDefined();
  });

  it("documents that create may need a create key or an Access token", () => {
    for (const path of ["/api/meetings/create", "/api/meetings"]) {
      const create = document.paths[path].post;
      expect(create.security).toEqual([{}, { createKey: [] }, { cloudflareAccess: [] }]);
      expect(create.responses["401"].description).toContain("CREATE_KEYS");
    }
    expect(document.components.securitySchemes.cloudflareAccess).toMatchObject({
      type: "apiKey",
      in: "header",
      name: "Cf-Access-Jwt-Assertion",
    });
  });

  it("takes the calendar token as bearer or query and answers text/calendar", () => {
    const calendar = document.paths["/api/meetings/{id}/calendar.ics"].get;
    expect(calendar.security).toEqual([{ bearer: [] }, { query: [] }]);
    expect(Object.keys(calendar.responses["200"].content)).toEqual(["text/calendar"]);
    expect(document.components.securitySchemes.query).toMatchObject({ type: "apiKey", in: "query", name: "token" });
  });

  it("describes the WebSocket route with every client frame and server event", () => {
    const ws = document.paths["/api/meetings/{id}/ws"].get;
    expect(ws.responses["101"]).toBeDefined();
    expect(ws.responses["426"]).toBeDefined();
    expect(ws.parameters.map((p: any) => p.name)).toContain("since");
    for (const type of [...CLIENT_FRAME_TYPES, ...SERVER_EVENT_TYPES]) expect(ws.description).toContain(`\`${type}\``);
    const clientFrames = document.components.schemas.ClientFrame.oneOf.map((o: any) => o.properties.type.const);
    expect(clientFrames).toEqual(CLIENT_FRAME_TYPES);
    expect(clientFrames).toContain("meeting:datetime:update");
    const serverEvents = document.components.schemas.ServerEvent.oneOf.map((o: any) => o.properties.type.const);
    expect(serverEvents).toEqual(SERVER_EVENT_TYPES);
    expect(ws["x-websocket"].clientFrames).toEqual({ $ref: "#/components/schemas/ClientFrame" });
  });
});
