/**
 * The MeetTime benchmark's clients, run as a child of broadcast.mjs so their
 * CPU never mixes with the server's: creates one meeting, invites and joins
 * every guest, connects host + guests over WebSocket (`ws`), drives the chat
 * phases of lib/load.mjs, then the chat round trips, then times the
 * create-meeting path.
 */
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import {
  checkpoint,
  connectAll,
  DeliveryTracker,
  mapLimit,
  messageIndex,
  messageText,
  RoundTrips,
  receiveParameters,
  runChatPhases,
} from "./lib/load.mjs";

const TOKENS_PER_REQUEST = 50; // API.md: count 1..50
const PING_EVERY_MS = 20_000; // API.md: clients ping every 20 s

const params = await receiveParameters();
const base = params.baseUrl;

async function post(path, body, token) {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

const createBody = (i) => ({
  title: `Benchmark ${i}`,
  hostName: "Host",
  scheduledAt: new Date(Date.now() + 3_600_000).toISOString(),
  maxParticipants: params.clients,
});

// ---------------------------------------------------------------- one meeting, everyone in it
const { meeting, hostToken } = await post("/api/meetings/create", createBody(0));
const invites = [];
for (let left = params.clients - 1; left > 0; left -= TOKENS_PER_REQUEST) {
  const count = Math.min(TOKENS_PER_REQUEST, left);
  const { tokens } = await post(`/api/meetings/${meeting.id}/tokens`, { count }, hostToken);
  invites.push(...tokens.map((t) => t.token));
}
const sessions = await mapLimit(invites, 8, async (token, i) => {
  const joined = await post("/api/meetings/join", { token, displayName: `Guest ${i + 1}` });
  return joined.sessionToken;
});
const bearerTokens = [hostToken, ...sessions];

const tracker = new DeliveryTracker(params.clients, params.messages, params.warmup);
let participantJoinedFrames = 0;
let errorFrames = 0;
let rateLimited = 0;
const errorCodes = {};
const wsBase = base.replace(/^http/, "ws");

const roundTrips = new RoundTrips((client, text) => sendChat(client, text));

/** Counts what matters without a full JSON parse per frame: the chat text, errors, joins. */
function onFrame(client, raw) {
  const text = raw.toString();
  if (text.startsWith('{"type":"chat:new-message"')) {
    const k = messageIndex(text);
    if (k >= 0 || !roundTrips.receive(client, JSON.parse(text).data.text)) tracker.deliver(client, k);
  } else if (text.startsWith('{"type":"meeting:participant-joined"')) {
    participantJoinedFrames++;
  } else if (text.startsWith('{"type":"error"')) {
    errorFrames++;
    const code = JSON.parse(text).error?.code ?? "?";
    errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    if (code === "RATE_LIMITED") rateLimited++;
  }
}

function connect(token, client) {
  return new Promise((resolve, reject) => {
    // No permessage-deflate: the Socket.IO baseline does not compress either (its default).
    const url = `${wsBase}/api/meetings/${meeting.id}/ws?token=${token}`;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => reject(new Error(`client ${client} not connected within 30 s`)), 30_000);
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.on("message", (raw, isBinary) => {
      if (!isBinary && raw.toString().startsWith('{"type":"meeting:joined"')) {
        clearTimeout(timer);
        resolve(ws);
      } else onFrame(client, raw);
    });
  });
}

const { sockets, connectMs } = await connectAll({
  items: bearerTokens,
  connect,
  joinsSeen: () => participantJoinedFrames,
  tracker,
});
const pinger = setInterval(() => {
  for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.send("ping");
}, PING_EVERY_MS);

function sendChat(sender, text) {
  sockets[sender].send(JSON.stringify({ type: "chat:message", data: { text } }));
}
await runChatPhases({
  tracker,
  clients: params.clients,
  params,
  send: (sender, k) => sendChat(sender, messageText(k)),
  counters: () => ({
    errorFrames,
    rateLimited,
    errorCodes,
    connectMs,
    extensions: sockets[0].extensions,
  }),
});
if (params.roundTrips > 0) await checkpoint("round-trips", await roundTrips.run(params.roundTrips));

// ---------------------------------------------------------------- the create path
await checkpoint("creates:start");
const createStartedAt = performance.now();
for (let i = 1; i <= params.creates; i++) await post("/api/meetings/create", createBody(i));
await checkpoint("creates:done", { wallMs: performance.now() - createStartedAt });

clearInterval(pinger);
await Promise.all(
  sockets.map(
    (ws) =>
      new Promise((resolve) => {
        ws.once("close", resolve);
        ws.close(1000, "benchmark over");
      }),
  ),
);
process.exit(0);
