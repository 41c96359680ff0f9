/**
 * The baseline server: what the original Express + Socket.IO design does
 * for chat, reduced to the same work MeetTime does per message. One room;
 * each chat message gets a small validity check, the next seq, an id and a
 * time, is appended to the meeting's history and emitted to the room, sender
 * included. The original kept history in Redis (a list push and trim per
 * message); here it is an in-memory array, so the baseline does strictly less
 * than the original per message. Child of socketio-baseline.mjs.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { Server } from "socket.io";

const ROOM = "meeting";
const CHAT_KEEP = 500;
const CHAT_TRIM_EVERY = 100;

const { port } = await new Promise((resolve) => process.once("message", resolve));
const http = createServer();
// WebSocket only and no compression (the Socket.IO default), like the MeetTime clients.
const io = new Server(http, { transports: ["websocket"], perMessageDeflate: false, maxHttpBufferSize: 64 * 1024 });

const chat = [];
let seq = 0;

io.on("connection", (socket) => {
  const { participantId, name } = socket.handshake.auth;
  if (typeof participantId !== "string" || typeof name !== "string") {
    socket.disconnect(true);
    return;
  }
  socket.join(ROOM);
  socket.emit("meeting:joined", { self: { id: participantId, name }, chat: chat.slice(-50) });
  socket.to(ROOM).emit("meeting:participant-joined", { participant: { id: participantId, name } });

  socket.on("chat:message", (data) => {
    const text = data?.text;
    if (typeof text !== "string" || text.length < 1 || text.length > 2000) {
      socket.emit("chat:error", { code: "VALIDATION_FAILED" });
      return;
    }
    const message = { id: randomUUID(), seq: ++seq, participantId, name, text, ts: new Date().toISOString() };
    chat.push(message);
    if (chat.length >= CHAT_KEEP + CHAT_TRIM_EVERY) chat.splice(0, chat.length - CHAT_KEEP);
    io.to(ROOM).emit("chat:new-message", message);
  });
});

http.listen(port, "127.0.0.1", () => process.send({ ready: true }));
const stop = () => io.close(() => process.exit(0));
process.on("message", (message) => message?.stop && stop());
process.on("disconnect", stop);
