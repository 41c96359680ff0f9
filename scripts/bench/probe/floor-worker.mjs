/**
 * The floor under `POST /api/meetings/create` (issue 11): a bare worker
 * whose every POST creates one new Durable Object holding one SQLite table
 * with one row, and nothing else (no routing library, validation, tokens,
 * rate limit or alarm). create.mjs runs it in Miniflare exactly like the
 * MeetTime bundle and reports MeetTime's CPU per create as a ratio to this.
 */
import { DurableObject } from "cloudflare:workers";

export class FloorObject extends DurableObject {
  create(title) {
    this.ctx.storage.sql.exec("CREATE TABLE meeting (id TEXT PRIMARY KEY, title TEXT NOT NULL)");
    this.ctx.storage.sql.exec("INSERT INTO meeting (id, title) VALUES (?, ?)", this.ctx.id.toString(), title);
    return { id: this.ctx.id.toString() };
  }
}

export default {
  async fetch(request, env) {
    if (request.method !== "POST") return Response.json({ status: "ok" });
    const { title } = await request.json();
    const id = env.FLOOR.newUniqueId();
    return Response.json(await env.FLOOR.get(id).create(String(title)), { status: 201 });
  },
};
