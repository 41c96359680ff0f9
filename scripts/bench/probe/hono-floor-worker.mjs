/**
 * The floor under a MeetTime `GET` once the framework is counted (issue 11),
 * for rest-paired.mjs: the same two object calls as floor-worker.mjs's
 * `/read/<id>`, behind a Hono app shaped like MeetTime's (eight
 * pass-through middleware layers, the same route patterns, so the router
 * does the same work) and answered with `c.json`. No token, no log line, no
 * headers beyond `Content-Type`, no validation: what is left of a MeetTime
 * `GET` above this is MeetTime's own work. Bundled with esbuild by
 * rest-paired.mjs (it imports hono).
 */
import { Hono } from "hono";
import { FloorObject } from "./floor-worker.mjs";

/** The same object as the bare floor's. */
export { FloorObject };

const ID = ":id";
const pass = async (_c, next) => {
  await next();
};
const ok = (c) => c.json({ status: "ok" });
const create = async (c) => {
  const { title } = await c.req.json();
  const id = c.env.FLOOR.newUniqueId();
  return c.json(await c.env.FLOOR.get(id).create(String(title)), 201);
};

const meetings = new Hono()
  .use("*", pass) // no-store
  .post("/", ok)
  .post("/create", create)
  .post("/join", pass, ok)
  .use(`/${ID}/*`, pass) // the meeting id
  .get(`/${ID}`, pass, async (c) => {
    await c.env.FLOOR.get(c.env.FLOOR.idFromName("client")).hit();
    return c.json(await c.env.FLOOR.get(c.env.FLOOR.idFromString(c.req.param("id"))).read());
  })
  .delete(`/${ID}`, pass, pass, ok)
  .post(`/${ID}/tokens`, pass, pass, ok)
  .post(`/${ID}/host-token`, pass, pass, ok)
  .put(`/${ID}/datetime`, pass, pass, pass, ok)
  .post(`/${ID}/kick`, pass, pass, ok)
  .post(`/${ID}/leave`, pass, pass, ok)
  .post(`/${ID}/session-token`, pass, pass, ok)
  .post(`/${ID}/calendar-token`, pass, pass, ok)
  .get(`/${ID}/ice-servers`, pass, ok)
  .get(`/${ID}/stats`, pass, ok)
  .get(`/${ID}/calendar.ics`, pass, pass, ok)
  .get(`/${ID}/ws`, pass, ok);

export default new Hono()
  .use(pass) // request id
  .use(pass) // request log
  .use(pass) // security headers
  .use(pass) // CORS
  .use("/api/*", pass) // rate limit (its object call is made in the route, as the floor's)
  .get("/health", ok)
  .get("/", ok)
  .post("/create", create)
  .get("/ping", ok)
  .route("/api/meetings", meetings);
