/**
 * Minimal reproduction: a server-initiated close of a hibernatable WebSocket
 * (ctx.acceptWebSocket) sends the close frame at once, but whether the TCP
 * connection follows promptly depends on where close() was called from.
 *
 * - GET /ws?echo=0|1         connect (echo: whether webSocketClose calls close() back)
 * - POST /kick               close every socket from this (another) request, like a REST kick
 * - POST /kick-one           the same, sparing the busy neighbour (GET /ws?neighbour=1)
 * - POST /kick-by-alarm      close every socket from the alarm handler (yet another context)
 * - text frame "close-me"    close the socket from its own webSocketMessage event
 * - text frame "close-soon"  close it from its own event, after an awaited storage write
 */
import { DurableObject } from "cloudflare:workers";

export class Room extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/kick") {
      for (const ws of this.ctx.getWebSockets()) ws.close(4003, "kicked from a REST request");
      // ?wait=ms keeps the kicking request open a while after close().
      const wait = Number(url.searchParams.get("wait") ?? 0);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      return new Response("kicked\n");
    }
    if (url.pathname === "/kick-one") {
      // Every socket but the busy neighbour's.
      for (const ws of this.ctx.getWebSockets()) {
        if (!ws.deserializeAttachment()?.neighbour) ws.close(4003, "kicked from a REST request");
      }
      return new Response("kicked\n");
    }
    if (url.pathname === "/kick-by-alarm") {
      await this.ctx.storage.setAlarm(Date.now());
      return new Response("alarm set\n");
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({
      echo: url.searchParams.get("echo") !== "0",
      neighbour: url.searchParams.has("neighbour"),
    });
    return new Response(null, { status: 101, webSocket: client });
  }

  async alarm() {
    for (const ws of this.ctx.getWebSockets()) ws.close(4003, "kicked from the alarm");
  }

  async webSocketMessage(ws, message) {
    if (message === "close-me") ws.close(4003, "closed from its own event");
    if (message === "close-soon") {
      await this.ctx.storage.put("x", Date.now());
      ws.close(4003, "closed from its own event, after a write");
    }
  }

  async webSocketClose(ws, code, reason) {
    if (!ws.deserializeAttachment()?.echo) return;
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }
}

export default {
  fetch(request, env) {
    if (new URL(request.url).pathname === "/health") return new Response("ok\n");
    return env.ROOM.get(env.ROOM.idFromName("room")).fetch(request);
  },
};
