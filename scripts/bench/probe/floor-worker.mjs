/**
 * The floors under MeetTime's REST paths (issue 11), for create.mjs and rest-paired.mjs
 * (hono-floor-worker.mjs puts its object behind Hono):
 * - `POST /create`: one new Durable Object holding one SQLite table with
 *   one row, nothing else (no routing library, validation, tokens, rate
 *   limit or alarm);
 * - `GET /read/<id>`: what any exactly rate-limited read needs at least, one
 *   call to a per-client counter object (count kept in memory) and one call
 *   to the object that reads its row;
 * - any other `GET`: a JSON answer without calling an object, the cost of an
 *   HTTP request through the runtime at all.
 * create.mjs runs it in Miniflare exactly like the MeetTime bundle and
 * reports MeetTime's CPU per request as a ratio to these.
 */
import { DurableObject } from "cloudflare:workers";

export class FloorObject extends DurableObject {
  count = 0;

  create(title) {
    this.ctx.storage.sql.exec("CREATE TABLE meeting (id TEXT PRIMARY KEY, title TEXT NOT NULL)");
    this.ctx.storage.sql.exec("INSERT INTO meeting (id, title) VALUES (?, ?)", this.ctx.id.toString(), title);
    return { id: this.ctx.id.toString() };
  }

  read() {
    return this.ctx.storage.sql.exec("SELECT * FROM meeting").one();
  }

  hit() {
    return ++this.count;
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === "POST") {
      const { title } = await request.json();
      const id = env.FLOOR.newUniqueId();
      return Response.json(await env.FLOOR.get(id).create(String(title)), { status: 201 });
    }
    if (url.pathname.startsWith("/read/")) {
      await env.FLOOR.get(env.FLOOR.idFromName("client")).hit();
      const row = await env.FLOOR.get(env.FLOOR.idFromString(url.pathname.slice(6))).read();
      return Response.json(row);
    }
    return Response.json({ status: "ok" });
  },
};
