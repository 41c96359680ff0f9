/**
 * Service routes: health and the API index. Neither needs a token nor
 * touches a meeting.
 */
import { Hono } from "hono";
import type { Env } from "../env";

export const SERVICE = { name: "MeetTime", version: "1.0.0" } as const;

/** The REST surface of API.md, listed by `GET /`. */
export const ENDPOINTS = [
  { method: "POST", path: "/api/meetings/create" },
  { method: "POST", path: "/api/meetings" },
  { method: "POST", path: "/api/meetings/join" },
  { method: "GET", path: "/api/meetings/:id" },
  { method: "DELETE", path: "/api/meetings/:id" },
  { method: "POST", path: "/api/meetings/:id/tokens" },
  { method: "POST", path: "/api/meetings/:id/host-token" },
  { method: "PUT", path: "/api/meetings/:id/datetime" },
  { method: "POST", path: "/api/meetings/:id/kick" },
  { method: "POST", path: "/api/meetings/:id/leave" },
  { method: "GET", path: "/api/meetings/:id/ws" },
  { method: "GET", path: "/health" },
  { method: "GET", path: "/" },
] as const;

export const system = new Hono<{ Bindings: Env }>()
  .get("/health", (c) =>
    c.json({ status: "ok", service: SERVICE.name, version: SERVICE.version, time: new Date().toISOString() }),
  )
  .get("/", (c) => c.json({ name: SERVICE.name, version: SERVICE.version, endpoints: ENDPOINTS }));
