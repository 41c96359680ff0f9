/**
 * The Socket.IO baseline's clients (socket.io-client, WebSocket transport
 * only), run as a child of socketio-baseline.mjs: the same number of
 * clients in one room and the same chat phases as the MeetTime clients.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { io } from "socket.io-client";
import { DeliveryTracker, mapLimit, messageIndex, messageText, receiveParameters, runChatPhases } from "./lib/load.mjs";

const params = await receiveParameters();
const tracker = new DeliveryTracker(params.clients, params.messages);
let participantJoined = 0;
let errorFrames = 0;

function connect(_, client) {
  return new Promise((resolve, reject) => {
    const socket = io(params.baseUrl, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      timeout: 30_000,
      // A UUID like MeetTime's participant ids, so both servers send frames of about the same size.
      auth: { participantId: randomUUID(), name: client === 0 ? "Host" : `Guest ${client}` },
    });
    socket.once("connect_error", reject);
    socket.once("meeting:joined", () => resolve(socket));
    socket.on("meeting:participant-joined", () => participantJoined++);
    socket.on("chat:new-message", (message) => tracker.deliver(client, messageIndex(message.text)));
    socket.on("chat:error", () => errorFrames++);
  });
}

const connectStartedAt = performance.now();
const sockets = await mapLimit(Array.from({ length: params.clients }), 10, connect);
const expectedJoins = (params.clients * (params.clients - 1)) / 2;
while (participantJoined < expectedJoins) {
  if (performance.now() - connectStartedAt > 120_000)
    throw new Error(`only ${participantJoined} of ${expectedJoins} joins seen`);
  await tracker.progress(50);
}
const connectMs = performance.now() - connectStartedAt;

await runChatPhases({
  tracker,
  clients: params.clients,
  params,
  send: (sender, k) => sockets[sender].emit("chat:message", { text: messageText(k) }),
  counters: () => ({ errorFrames, rateLimited: 0, errorCodes: {}, connectMs, extensions: "" }),
});
for (const socket of sockets) socket.disconnect();
process.exit(0);
