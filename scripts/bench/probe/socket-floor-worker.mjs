/**
 * The memory floor under a MeetTime meeting's sockets (issue 11), for
 * socket-memory.mjs: one Durable Object that accepts hibernatable
 * WebSockets the way MeetTime does (the upgrade forwarded by the worker,
 * `ctx.acceptWebSocket`, an attachment per socket), answers each with a
 * "joined" frame listing everyone, and tells everyone else, so the runtime
 * carries the same sockets and about the same frames, with no application
 * state, validation, storage or tokens.
 */
import { DurableObject } from "cloudflare:workers";

export class SocketFloor extends DurableObject {
  fetch() {
    const { 0: client, 1: server } = new WebSocketPair();
    const id = crypto.randomUUID();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ participantId: id, role: "participant", name: "Guest", connectedAt: Date.now() });
    const others = this.ctx.getWebSockets().filter((ws) => ws !== server);
    const participants = [...others, server].map((ws) => ({
      id: ws.deserializeAttachment().participantId,
      name: "Guest",
    }));
    server.send(JSON.stringify({ type: "meeting:joined", data: { participants } }));
    const notice = JSON.stringify({ type: "meeting:participant-joined", data: { participant: { id, name: "Guest" } } });
    for (const ws of others) ws.send(notice);
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage(ws, message) {
    if (message !== "ping") ws.send(message);
  }
}

export default {
  fetch(request, env) {
    if (request.headers.get("upgrade") !== "websocket") return Response.json({ status: "ok" });
    return env.FLOOR.get(env.FLOOR.idFromName("room")).fetch(request);
  },
};
