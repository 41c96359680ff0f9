#!/usr/bin/env node
// A tiny interactive MeetTime client for trying a live meeting from two
// terminals: prints every frame it receives, sends each line you type as a
// chat message, and has a few commands (/help). Pings every 20 s like a browser.
//
//   node scripts/ws-client.mjs <baseUrl> <meetingId> <token> [--since <seq>]
//
// The token travels as the subprotocol pair `meettime, <token>`, so it never
// shows up in a URL or a server log.
import { createInterface } from "node:readline";
import WebSocket from "ws";

const USAGE = "usage: node scripts/ws-client.mjs <baseUrl> <meetingId> <token> [--since <seq>]";
const PING_EVERY_MS = 20_000;

const CLOSE_MEANINGS = {
  1000: "closed normally (you left, or closed the client)",
  1001: "dropped: no ping or frame for 60 s",
  1006: "connection lost",
  4000: "the meeting was terminated",
  4003: "you were kicked",
  4008: "closed for flooding (too many refused frames)",
  4009: "replaced by a newer connection of the same participant",
};

const HELP = `type a line to chat, or:
  /who                          participants and their ids
  /offer <to> <sdp>             send webrtc:offer   (also /answer <to> <sdp>)
  /ice <to> <candidate>         send webrtc:ice-candidate
  /state audio=false hand=true  participant:update (audio, video, screen, hand|handRaised)
  /reschedule <iso> [minutes]   meeting:datetime:update (host)
  /kick <id> [reason]           host:kick-participant (host)
  /leave                        meeting:leave
  /raw <json>                   send a frame as is
  /quit (or Ctrl-D)             close the connection`;

function parseArgs(argv) {
  const positional = [];
  let since;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--since") since = argv[++i];
    else positional.push(argv[i]);
  }
  if (positional.length !== 3) {
    console.error(USAGE);
    process.exit(2);
  }
  const [baseUrl, meetingId, token] = positional;
  return { baseUrl, meetingId, token, since };
}

const { baseUrl, meetingId, token, since } = parseArgs(process.argv.slice(2));
const url = new URL(`/api/meetings/${meetingId}/ws`, baseUrl.replace(/^http/, "ws"));
if (since !== undefined) url.searchParams.set("since", since);

const participants = new Map();
let nextId = 1;
const time = () => new Date().toTimeString().slice(0, 8);
const print = (line) => console.log(`${time()} ${line}`);

const ws = new WebSocket(url, ["meettime", token]);
const input = createInterface({ input: process.stdin });

function send(type, data) {
  const id = `c${nextId++}`;
  ws.send(JSON.stringify({ type, data, id }));
  print(`→ ${type} ${JSON.stringify(data)} (${id})`);
}

function describe(frame) {
  const { type, data } = frame;
  switch (type) {
    case "meeting:joined": {
      for (const p of data.meeting.participants) participants.set(p.id, p);
      const history = data.chat.map((m) => `\n  #${m.seq} ${m.name}: ${m.text}`).join("");
      return `joined "${data.meeting.title}" as ${data.self.name} (${data.self.role}, id ${data.self.id}); ${data.meeting.participants.length} listed, ${data.chat.length} chat messages${history}`;
    }
    case "chat:new-message":
      return `#${data.seq} ${data.name}: ${data.text}`;
    case "meeting:participant-joined":
      participants.set(data.participant.id, data.participant);
      return `${data.participant.name} joined (id ${data.participant.id})`;
    case "meeting:participant-left":
      return `${participants.get(data.participantId)?.name ?? data.participantId} left: ${data.reason}`;
    case "ack":
      return `ack ${frame.id}`;
    case "error":
      return `error${frame.id ? ` ${frame.id}` : ""}: ${frame.error.code}: ${frame.error.message}`;
    default:
      return `${type} ${JSON.stringify(data)}`;
  }
}

function parseState(words) {
  const state = {};
  for (const word of words) {
    const [key, value] = word.split("=");
    const field = key === "hand" ? "handRaised" : key;
    state[field] = value === "true" || value === "on" || value === "1";
  }
  return state;
}

function command(line) {
  const [name, ...words] = line.trim().split(/\s+/);
  const rest = (from) => words.slice(from).join(" ");
  switch (name) {
    case "/help":
      return console.log(HELP);
    case "/who":
      for (const p of participants.values()) console.log(`  ${p.id}  ${p.name} (${p.role})`);
      return;
    case "/offer":
    case "/answer":
      return send(`webrtc:${name.slice(1)}`, { to: words[0], sdp: rest(1) });
    case "/ice":
      return send("webrtc:ice-candidate", { to: words[0], candidate: { candidate: rest(1), sdpMid: "0" } });
    case "/state":
      return send("participant:update", parseState(words));
    case "/reschedule": {
      const data = { scheduledAt: words[0] };
      if (words[1]) data.durationMinutes = Number(words[1]);
      return send("meeting:datetime:update", data);
    }
    case "/kick":
      return send(
        "host:kick-participant",
        rest(1) ? { participantId: words[0], reason: rest(1) } : { participantId: words[0] },
      );
    case "/leave":
      return send("meeting:leave", {});
    case "/raw":
      ws.send(rest(0));
      return print(`→ ${rest(0)}`);
    case "/quit":
      return ws.close(1000, "bye");
    default:
      return print(`unknown command ${name}; /help lists them`);
  }
}

ws.on("unexpected-response", (_request, response) => {
  let body = "";
  response.on("data", (chunk) => (body += chunk));
  response.on("end", () => {
    print(`refused: HTTP ${response.statusCode} ${body}`);
    process.exit(1);
  });
});

ws.on("error", (error) => {
  print(`connection error: ${error.message}`);
  process.exit(1);
});

// Lines typed before the connection is open are sent once it is.
const pending = [];
function handleLine(line) {
  if (!line.trim()) return;
  if (ws.readyState !== WebSocket.OPEN) return void pending.push(line);
  if (line.startsWith("/")) command(line);
  else send("chat:message", { text: line });
}
input.on("line", handleLine);
// Ctrl-D (end of input) leaves like /quit.
input.on("close", () => ws.readyState === WebSocket.OPEN && ws.close(1000, "bye"));

ws.on("open", () => {
  print(`connected to ${url.origin}${url.pathname} (subprotocol ${ws.protocol}); /help for commands`);
  const pinger = setInterval(() => ws.send("ping"), PING_EVERY_MS);
  ws.on("close", () => clearInterval(pinger));
  for (const line of pending.splice(0)) handleLine(line);
});

ws.on("message", (data) => {
  const text = data.toString();
  if (text === "pong") return;
  try {
    print(`← ${describe(JSON.parse(text))}`);
  } catch {
    print(`← ${text}`);
  }
});

ws.on("close", (code, reason) => {
  print(`closed ${code}${reason.length ? ` "${reason}"` : ""}: ${CLOSE_MEANINGS[code] ?? "closed"}`);
  input.close();
  process.exit(code === 1000 ? 0 : 1);
});
