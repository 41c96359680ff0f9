/**
 * `Cache-Control: no-store` on answers that carry or depend on a token
 * (contract 1.1): create, join and every `/api/meetings/:id/*` answer,
 * errors included, so no browser or shared cache keeps a token or a
 * meeting's state. Set after the handler, so it wins over a route's own value.
 */
import { createMiddleware } from "hono/factory";

/** @example meetings.use("*", noStore) */
export const noStore = createMiddleware(async (c, next) => {
  await next();
  c.res.headers.set("Cache-Control", "no-store");
});
