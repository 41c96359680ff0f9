/**
 * The Socket.IO baseline's clients (socket.io-client, WebSocket transport
 * only), run as a child of socketio-baseline.mjs: the same number of
 * clients in one room and the same chat phases as the MeetTime clients.
 */
import { randomUUID } from "node:crypto";
import { io } from "socket.io-client";
import {
  checkpoint,
  connectAll,
  DeliveryTracker,
  messageIndex,
  messageText,
  RoundTrips,
  receiveParameters,
  runChatPhases,
} from "./lib/load.mjs";

const params = await receiveParameters();
const tracker = new DeliveryTracker(params.clients, params.messages, params.warmup);
const roundTrips = new RoundTrips((client, text) => sockets[client].emit("chat:message", { text }));
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
    socket.on("chat:new-message", (message) => {
      const k = messageIndex(message.text);
      if (k >= 0 || !roundTrips.receive(client, message.text)) tracker.deliver(client, k);
    });
    socket.on("chat:error", () => errorFrames++);
  });
}

const { sockets, connectMs } = await connectAll({
  items: Array.from({ length: params.clients }),
  connect,
  joinsSeen: () => participantJoined,
  tracker,
});

await runChatPhases({
  tracker,
  clients: params.clients,
  params,
  send: (sender, k) => sockets[sender].emit("chat:message", { text: messageText(k) }),
  counters: () => ({ errorFrames, rateLimited: 0, errorCodes: {}, connectMs, extensions: "" }),
});
if (params.roundTrips > 0) await checkpoint("round-trips", await roundTrips.run(params.roundTrips));
for (const socket of sockets) socket.disconnect();
process.exit(0);
