/**
 * The API describing itself: `GET /openapi.json` (generated from the route
 * table and the zod schemas) and `GET /docs`, a Swagger UI page over it.
 * The page's scripts and styles load from the jsDelivr CDN in the browser;
 * the worker serves only the HTML.
 */
import { swaggerUI } from "@hono/swagger-ui";
import { Hono } from "hono";
import type { Env } from "../env";
import { openApiDocument } from "../openapi/document";
import { SERVICE } from "./system";

/** swagger-ui-dist major version fetched from the CDN (5.x reads OpenAPI 3.1). */
const SWAGGER_UI_VERSION = "5";

let cachedDocument: ReturnType<typeof openApiDocument> | undefined;

export const docs = new Hono<{ Bindings: Env }>()
  .get("/openapi.json", (c) => {
    cachedDocument ??= openApiDocument({ title: SERVICE.name, version: SERVICE.version });
    return c.json(cachedDocument);
  })
  .get(
    "/docs",
    swaggerUI({
      url: "/openapi.json",
      version: SWAGGER_UI_VERSION,
      title: `${SERVICE.name} API`,
      persistAuthorization: true,
    }),
  );
