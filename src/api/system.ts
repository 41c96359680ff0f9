/**
 * Service routes: health and the API index. Neither needs a token nor
 * touches a meeting. The index comes from the route table that also
 * produces the OpenAPI document.
 */
import { Hono } from "hono";
import type { Env } from "../env";
import { ENDPOINTS } from "../openapi/routes";

export const SERVICE = { name: "MeetTime", version: "1.1.0" } as const;

export const system = new Hono<{ Bindings: Env }>()
  .get("/health", (c) =>
    c.json({ status: "ok", service: SERVICE.name, version: SERVICE.version, time: new Date().toISOString() }),
  )
  .get("/", (c) => c.json({ name: SERVICE.name, version: SERVICE.version, endpoints: ENDPOINTS }));
