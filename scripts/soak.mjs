#!/usr/bin/env node
// `npm run soak`: a bounded soak of MeetTime. 200 participants in 10 meetings
// chat and relay WebRTC offers at a steady rate while connections drop (clean
// closes and dead TCP connections) and come back with `since=`. At the end it
// checks that nothing was lost or doubled: every recipient holds every chat
// seq exactly once and in order, no signal went astray, presence is right in
// GET and in every client's view, and the server's memory stayed flat.
//
//   npm run soak                       # 2 minutes against its own wrangler dev
//   npm run soak -- --seconds 60       # shorter
//   BASE_URL=http://127.0.0.1:8787 npm run soak   # an existing server (raise its REST limit first)
//
// Options: --seconds (120) --meetings (10) --participants (200, hosts included)
//          --chat-every (5 s per participant) --signal-every (3 s) --churn-every (500 ms)
// Exits 0 when every check passes, 1 otherwise. Only ever talks to 127.0.0.1 unless BASE_URL says otherwise.
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Participant } from "./soak/participant.mjs";
import { startServer, workerdRssMiB } from "./soak/server.mjs";
import { checkChat, checkErrorsAndCloses, checkMemory, checkPresence, checkSignals } from "./soak/verify.mjs";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "120" },
    meetings: { type: "string", default: "10" },
    participants: { type: "string", default: "200" },
    "chat-every": { type: "string", default: "5" },
    "signal-every": { type: "string", default: "3" },
    "churn-every": { type: "string", default: "500" },
  },
});
const SECONDS = Number(args.seconds);
const MEETINGS = Number(args.meetings);
const PER_MEETING = Math.floor(Number(args.participants) / MEETINGS);
const CHAT_EVERY_MS = Number(args["chat-every"]) * 1000;
const SIGNAL_EVERY_MS = Number(args["signal-every"]) * 1000;
const CHURN_EVERY_MS = Number(args["churn-every"]);
/** At most this share of participants is away at once. */
const MAX_AWAY_SHARE = 0.1;
const DRAIN_TIMEOUT_MS = 60_000;
if (![SECONDS, MEETINGS, PER_MEETING, CHAT_EVERY_MS, SIGNAL_EVERY_MS, CHURN_EVERY_MS].every((n) => n > 0)) {
  console.error("every option must be a positive number, and --participants at least --meetings");
  process.exit(2);
}
// The API's chat limit is 5 a second per participant; the soak stays far below it.
if (CHAT_EVERY_MS < 400) {
  console.error("--chat-every below 0.4 s would run into the chat rate limit");
  process.exit(2);
}

const say = (line) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);
const random = (list) => list[Math.floor(Math.random() * list.length)];
const jitter = (ms) => ms * (0.5 + Math.random());

let server = null;
const overrun = setTimeout(
  async () => {
    console.error("soak overran its time budget; stopping");
    await server?.stop();
    process.exit(1);
  },
  SECONDS * 1000 + 300_000,
);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await server?.stop();
    process.exit(130);
  });
}

async function api(baseUrl, method, path, { token, body } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : undefined;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return { body: parsed, headers: response.headers };
}

/** Runs `task` over `items`, `width` at a time. */
async function inBatches(items, width, task) {
  const results = [];
  for (let i = 0; i < items.length; i += width)
    results.push(...(await Promise.all(items.slice(i, i + width).map(task))));
  return results;
}

async function setUpMeeting(baseUrl, m) {
  const created = await api(baseUrl, "POST", "/api/meetings", {
    body: { title: `Soak ${m}`, hostName: `Host ${m}`, scheduledAt: new Date(Date.now() + 3_600_000).toISOString() },
  });
  // The REST limit must allow the setup and the reconnects; say so clearly instead of failing halfway.
  const limit = Number(created.headers.get("ratelimit-limit") ?? Number.POSITIVE_INFINITY);
  if (limit < 10_000)
    throw new Error(`the server's REST limit is ${limit}; run it with RATE_LIMIT_MAX_REQUESTS >= 10000`);
  const meeting = { id: created.body.meeting.id, title: `Soak ${m}`, participants: [], signals: [], ackedTexts: [] };
  const hostToken = created.body.hostToken;
  meeting.hostToken = hostToken;
  const common = { meeting, baseUrl, index: 0 };
  meeting.participants.push(
    new Participant({ ...common, id: created.body.participant.id, name: `Host ${m}`, token: hostToken, role: "host" }),
  );
  const invites = await api(baseUrl, "POST", `/api/meetings/${meeting.id}/tokens`, {
    token: hostToken,
    body: { count: PER_MEETING - 1 },
  });
  for (const [g, invite] of invites.body.tokens.entries()) {
    const name = `Guest ${m}.${g + 1}`;
    const joined = await api(baseUrl, "POST", "/api/meetings/join", {
      body: { token: invite.token, displayName: name },
    });
    meeting.participants.push(
      new Participant({
        ...common,
        id: joined.body.participant.id,
        name,
        token: joined.body.sessionToken,
        role: "participant",
      }),
    );
  }
  return meeting;
}

function sendChat(p) {
  const text = `soak ${p.name} #${++p.sent.chat}`;
  p.sentAt.set(text, Date.now());
  return p.request({ type: "chat:message", data: { text } }).then((reply) => {
    if (reply.type === "ack") p.meeting.ackedTexts.push(text);
  });
}

function sendSignal(p) {
  const peers = p.meeting.participants.filter((q) => q !== p && p.presence.get(q.id) === true);
  if (peers.length === 0) return Promise.resolve();
  const target = random(peers);
  const signal = {
    id: `soak-signal-${crypto.randomUUID()}`,
    from: p.id,
    to: target.id,
    targetConnection: target.currentConnection(),
    acked: false,
  };
  p.meeting.signals.push(signal);
  p.sent.signal++;
  return p.request({ type: "webrtc:offer", data: { to: target.id, sdp: signal.id } }).then((reply) => {
    signal.acked = reply.type === "ack";
  });
}

/** Drops a participant (clean or dead connection), waits a moment, and brings it back with since=. */
async function churn(p) {
  await p.disconnect(Math.random() < 0.5 ? "abrupt" : "clean");
  await sleep(200 + Math.random() * 1300);
  await p.connect(p.lastSeq);
  p.reconnects++;
}

async function waitFor(what, condition, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  let baseUrl = process.env.BASE_URL;
  if (baseUrl) {
    say(`using ${baseUrl}`);
  } else {
    say("starting wrangler dev …");
    server = await startServer({ MAX_PARTICIPANTS_PER_MEETING: String(Math.max(50, PER_MEETING)) });
    baseUrl = server.baseUrl;
    say(`wrangler dev on ${baseUrl}`);
  }
  const rss = () => (server ? workerdRssMiB(server.pid) : null);

  say(`setting up ${MEETINGS} meetings × ${PER_MEETING} participants …`);
  const meetings = await inBatches(
    Array.from({ length: MEETINGS }, (_, m) => m + 1),
    3,
    (m) => setUpMeeting(baseUrl, m),
  );
  const everyone = meetings.flatMap((m) => m.participants);
  everyone.forEach((p, i) => {
    p.index = i;
  });
  await inBatches(everyone, 20, (p) => p.connect());
  // Everyone was there before the first message, so every recipient must end with seq 1..last.
  await waitFor(
    "every client to see everyone connected",
    () => everyone.every((p) => p.meeting.participants.every((q) => p.presence.get(q.id) === true)),
    30_000,
  );
  const memory = { start: rss(), middle: null, end: null, max: rss() };
  say(`${everyone.length} connected; workerd RSS ${memory.start ?? "n/a"} MiB; running ${SECONDS} s`);

  const startedAt = Date.now();
  const inFlight = new Set();
  const track = (promise) => {
    inFlight.add(promise);
    promise.finally(() => inFlight.delete(promise));
  };
  const due = new Map(
    everyone.map((p) => [p, { chat: startedAt + jitter(CHAT_EVERY_MS), signal: startedAt + jitter(SIGNAL_EVERY_MS) }]),
  );
  const away = new Set();
  const traffic = setInterval(() => {
    const now = Date.now();
    for (const p of everyone) {
      if (!p.open) continue;
      const next = due.get(p);
      if (now >= next.chat) {
        next.chat = now + jitter(CHAT_EVERY_MS);
        track(sendChat(p));
      }
      if (now >= next.signal) {
        next.signal = now + jitter(SIGNAL_EVERY_MS);
        track(sendSignal(p));
      }
    }
  }, 50);
  const churning = setInterval(() => {
    if (away.size >= everyone.length * MAX_AWAY_SHARE) return;
    const candidates = everyone.filter((p) => p.open && !away.has(p));
    if (candidates.length === 0) return;
    const p = random(candidates);
    away.add(p);
    const done = churn(p).finally(() => away.delete(p));
    track(done.catch((error) => say(`reconnect of ${p.name} failed: ${error.message}`)));
  }, CHURN_EVERY_MS);
  const progress = setInterval(() => {
    const current = rss();
    if (current !== null) memory.max = Math.max(memory.max ?? 0, current);
    const acked = meetings.reduce((n, m) => n + m.ackedTexts.length, 0);
    const reconnects = everyone.reduce((n, p) => n + p.reconnects, 0);
    say(
      `${Math.round((Date.now() - startedAt) / 1000)} s: ${acked} chats acked, ${reconnects} reconnects, RSS ${current ?? "n/a"} MiB`,
    );
  }, 10_000);

  await sleep((SECONDS * 1000) / 2);
  memory.middle = rss();
  await sleep((SECONDS * 1000) / 2);
  clearInterval(traffic);
  clearInterval(churning);
  clearInterval(progress);
  say("traffic stopped; draining …");
  await waitFor("reconnects and replies in flight", () => inFlight.size === 0, DRAIN_TIMEOUT_MS);
  const elapsedMs = Date.now() - startedAt;

  // A last message per meeting marks its final seq; then everyone must have caught up to it.
  for (const meeting of meetings) {
    const host = meeting.participants[0];
    const marker = `soak end of ${meeting.title}`;
    const reply = await host.request({ type: "chat:message", data: { text: marker } });
    if (reply.type !== "ack") throw new Error(`end marker refused: ${JSON.stringify(reply)}`);
    meeting.ackedTexts.push(marker);
    await waitFor(
      `${meeting.title}'s end marker`,
      () => [...host.chatTexts.values()].includes(marker),
      DRAIN_TIMEOUT_MS,
    );
    meeting.finalSeq = host.lastSeq;
  }
  await waitFor(
    "every client to catch up to its meeting's last seq",
    () => meetings.every((m) => m.participants.every((p) => p.lastSeq >= m.finalSeq)),
    DRAIN_TIMEOUT_MS,
  );
  const drainedAt = Date.now();

  // Presence: one guest per meeting leaves its socket; GET and every client must show exactly that.
  const leaving = meetings.map((m) => m.participants.at(-1));
  await Promise.all(leaving.map((p) => p.disconnect("clean")));
  await waitFor(
    "everyone to see the last guests disconnected",
    () =>
      meetings.every((m) =>
        m.participants.filter((p) => p.open).every((p) => p.presence.get(m.participants.at(-1).id) === false),
      ),
    DRAIN_TIMEOUT_MS,
  );
  const readings = await Promise.all(
    meetings.map(
      async (m) => (await api(baseUrl, "GET", `/api/meetings/${m.id}`, { token: m.hostToken })).body.meeting,
    ),
  );
  memory.end = rss();
  if (memory.end !== null) memory.max = Math.max(memory.max ?? 0, memory.end);

  const chatProblems = checkChat(meetings);
  const signals = checkSignals(meetings, drainedAt);
  const presenceProblems = checkPresence(meetings, readings);
  const codes = checkErrorsAndCloses(everyone);
  const memoryProblems = checkMemory(memory);

  const chats = meetings.reduce((n, m) => n + m.finalSeq, 0);
  const deliveries = meetings.reduce((n, m) => n + m.participants.reduce((k, p) => k + p.seqs.length, 0), 0);
  const replayed = everyone.reduce((n, p) => n + p.replayed, 0);
  const signalsSent = meetings.reduce((n, m) => n + m.signals.length, 0);
  const signalsAcked = meetings.reduce((n, m) => n + m.signals.filter((s) => s.acked).length, 0);
  const signalsReceived = everyone.reduce((n, p) => n + p.signalsReceived.length, 0);
  const reconnects = everyone.reduce((n, p) => n + p.reconnects, 0);
  const echo = everyone.flatMap((p) => p.echoLatencies);
  const report = {
    durationSeconds: Math.round(elapsedMs / 1000),
    meetings: MEETINGS,
    participants: everyone.length,
    chatMessages: chats,
    chatDeliveries: deliveries,
    recoveredByReplay: replayed,
    reconnects,
    signalsSent,
    signalsAcked,
    signalsReceived,
    signalsThatHadToArrive: signals.mustArrive,
    errorFrames: codes.errors,
    clientCloseCodes: codes.closes,
    chatEchoMs: { p50: percentile(echo, 50), p95: percentile(echo, 95), max: percentile(echo, 100) },
    workerdRssMiB: memory,
  };
  console.log(JSON.stringify(report, null, 2));

  const problems = [
    ...chatProblems.map((p) => `chat: ${p}`),
    ...signals.problems.map((p) => `signal: ${p}`),
    ...presenceProblems.map((p) => `presence: ${p}`),
    ...codes.problems.map((p) => `codes: ${p}`),
    ...memoryProblems.map((p) => `memory: ${p}`),
  ];
  for (const p of everyone) p.ws?.terminate();
  if (problems.length > 0) {
    say(`FAILED: ${problems.length} problems`);
    for (const problem of problems.slice(0, 50)) console.log(`  - ${problem}`);
    return 1;
  }
  say(
    `PASSED: ${chats} chat messages, ${deliveries} deliveries (${replayed} replayed after reconnects; every seq exactly once, in order), ${reconnects} reconnects, ` +
      `${signalsReceived} signals, presence exact, RSS ${memory.start} → ${memory.middle} → ${memory.end} MiB`,
  );
  return 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  console.error(`soak aborted: ${error.stack ?? error}`);
  if (server) console.error(`server output (tail):\n${server.output().slice(-3000)}`);
} finally {
  clearTimeout(overrun);
  await server?.stop();
}
process.exit(exitCode);
