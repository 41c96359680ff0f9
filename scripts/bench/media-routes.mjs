#!/usr/bin/env node
/**
 * `npm run bench:media-routes`: workerd CPU per call of each media route
 * (contract 1.2, `/api/meetings/:id/media/*`), read against the plain `GET`
 * of the same run. The working tree is served by Miniflare (one workerd,
 * pinned to CPU 0, as `bench:rest`) with its SFU variables pointing at
 * sfu-stub.mjs, a stand-in that answers Cloudflare's shapes at once with
 * SDP of realistic sizes (its own CPU, on CPU 1 with this load generator,
 * is reported apart and is not in the figures).
 *
 * Kinds (`--kinds`), each `--requests` calls per batch at `--concurrency`,
 * batches rotated between kinds `--batches` times so the machine's load
 * drifts over all alike:
 * - `session`: `POST …/media/session` with no body, as the app sends it
 *   (the participant's earlier session, with no tracks, is replaced);
 * - `publish`: `POST …/media/tracks`, an offer and two local tracks (audio
 *   and video), new names each call;
 * - `pull`: `POST …/media/tracks`, two remote tracks of the meeting's
 *   publisher, no offer (the SFU answers with one);
 * - `renegotiate`: `PUT …/media/renegotiate` with an answer;
 * - `close`: `PUT …/media/tracks/close`, the two tracks of one publish with
 *   an offer (the publisher's list is announced again);
 * - `get`: `GET /api/meetings/:id` with a host token (as `bench:rest`).
 * What a kind needs first (tracks to close) and leaves behind (tracks
 * published or pulled) is made and closed outside its measured window.
 *
 * The per-participant bucket of 50 media calls refilled 10 a second is kept
 * clear by participants, not pacing: `--meetings` SFU meetings of `--size`
 * people each (guests joined with invites), one publisher per meeting, and
 * the other guests split into one pool per kind, used round robin. Any
 * answer that is not 2xx (a 429 included) fails the run.
 *
 *   node scripts/bench/media-routes.mjs [--batches 12] [--requests 400] [--concurrency 16]
 *     [--meetings 6] [--size 25] [--kinds session,publish,pull,renegotiate,close,get] [--profile publish]
 *
 * `--profile <kind>`: after the batches, one more window of that kind under
 * V8's profiler (workerd's inspector, opened for this run only), its top
 * self times printed. Take the figures from a run without it.
 */
import { fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { startMiniflare } from "./lib/meettime-server.mjs";
import { median, options, round } from "./lib/orchestrate.mjs";
import { cpuMicros, cpuModel, loadAverage, pin } from "./lib/proc.mjs";
import { openProfiler, selfTimes } from "./lib/profiler.mjs";
import { createBody, inviteTokens, jsonRequest, post } from "./lib/rest-client.mjs";
import { sdpOfSize } from "./lib/sdp.mjs";
import { bundleWorker } from "./lib/snapshots.mjs";

const opts = options({
  batches: 12,
  requests: 400,
  concurrency: 16,
  meetings: 6,
  size: 25,
  kinds: "session,publish,pull,renegotiate,close,get",
  profile: "",
});
const kinds = opts.kinds.split(",").filter(Boolean);
const MEDIA_KINDS = ["session", "publish", "pull", "renegotiate", "close"];
const POOL_KINDS = kinds.filter((kind) => MEDIA_KINDS.includes(kind));
const MEDIA_BUCKET = 50;
const SFU_APP = { appId: "bench-app", appSecret: "bench-sfu-secret" };
/** What a Chrome page sends for one audio and one video track: its offer (publish, close) and answer (pull). */
const CLIENT_OFFER = { type: "offer", sdp: sdpOfSize(5_500, "offer") };
const CLIENT_ANSWER = { type: "answer", sdp: sdpOfSize(1_700, "answer") };
const WARM_UP = 100;
const SFU_OPERATIONS = ["sessions/new", "tracks/new", "renegotiate", "tracks/close"];
const TRACKS_PER_CLOSE = 64; // the contract's most tracks per close

/** Answers by status, across the whole run: anything but 2xx fails it. */
const statuses = new Map();
let firstFailure = null;

/** `total` calls of `send(i)` from `concurrency` loops; `onAnswer(i, body)` gets each 2xx body. */
async function drive(total, send, onAnswer) {
  let next = 0;
  const loop = async () => {
    for (let i = next++; i < total; i = next++) {
      let response;
      let text;
      try {
        response = await send(i);
        text = await response.text();
      } catch (error) {
        statuses.set("dropped", (statuses.get("dropped") ?? 0) + 1);
        // A connection workerd closed under us: counted (it fails the run), and the run goes on to show how many.
        firstFailure ??= `no answer: ${error.cause?.code ?? error.name} ${error.cause?.message ?? error.message}`;
        continue;
      }
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status < 200 || response.status > 299) {
        firstFailure ??= `${response.status} ${text.slice(0, 300)}`;
        continue;
      }
      onAnswer?.(i, JSON.parse(text));
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, loop));
}

/** The SFU stand-in as a child process: { url, pid, counts(), stop() }. */
async function startSfuStub() {
  const child = fork(fileURLToPath(new URL("sfu-stub.mjs", import.meta.url)), [], { stdio: "inherit" });
  child.send(SFU_APP);
  const [{ url }] = await once(child, "message");
  return {
    url,
    pid: child.pid,
    async counts() {
      child.send({ counts: true });
      const [{ counts }] = await once(child, "message");
      return counts;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ stop: true });
      await once(child, "exit");
    },
  };
}

/** The media calls, with the state each kind needs: participants by pool, tracks to close. */
function mediaCalls(url) {
  const request = (method, path, token, body) => fetch(`${url}${path}`, { ...jsonRequest(body, token), method });
  const mediaPath = (p, op) => `/api/meetings/${p.meetingId}/media/${op}`;
  let trackCounter = 0;
  const publishBody = () => {
    const k = trackCounter++;
    return {
      sessionDescription: CLIENT_OFFER,
      tracks: [
        { location: "local", mid: `a${k}`, trackName: `mic-${k}`, kind: "audio" },
        { location: "local", mid: `v${k}`, trackName: `cam-${k}`, kind: "video" },
      ],
    };
  };
  const midsOf = (answer) => answer.tracks.map((track) => track.mid);
  /** Every track `pool` has open, closed (forced, no SDP) in as few calls as the contract allows. */
  const closeAll = async (pool) => {
    const calls = [];
    for (const p of pool) {
      for (let start = 0; start < p.open.length; start += TRACKS_PER_CLOSE) {
        const tracks = p.open.slice(start, start + TRACKS_PER_CLOSE).map((mid) => ({ mid }));
        calls.push({ p, body: { tracks, force: true } });
      }
      p.open = [];
    }
    await drive(calls.length, (i) =>
      request("PUT", mediaPath(calls[i].p, "tracks/close"), calls[i].p.token, calls[i].body),
    );
  };
  let closeUnits = [];
  let hostMeeting;
  const pools = {};
  return {
    pools,
    request,
    mediaPath,
    publishBody,
    midsOf,
    async setup() {
      hostMeeting = await post(`${url}/api/meetings/create`, createBody("Reference GET"));
    },
    /** Runs before the measured window of `kind` (count calls). */
    async prepare(kind, count) {
      if (kind !== "close") return;
      const pool = pools.close;
      closeUnits = [];
      await drive(
        count,
        (i) => request("POST", mediaPath(pool[i % pool.length], "tracks"), pool[i % pool.length].token, publishBody()),
        (i, answer) => closeUnits.push({ p: pool[i % pool.length], mids: midsOf(answer) }),
      );
    },
    /** Runs after the measured window of `kind`: what it opened is closed again. */
    async cleanup(kind) {
      if (kind === "publish" || kind === "pull") await closeAll(pools[kind]);
    },
    send: {
      session: (i) => {
        const p = pools.session[i % pools.session.length];
        return request("POST", mediaPath(p, "session"), p.token, {});
      },
      publish: (i) => {
        const p = pools.publish[i % pools.publish.length];
        return request("POST", mediaPath(p, "tracks"), p.token, publishBody());
      },
      pull: (i) => {
        const p = pools.pull[i % pools.pull.length];
        const tracks = ["mic", "cam"].map((trackName) => ({
          location: "remote",
          participantId: p.publisherId,
          trackName,
        }));
        return request("POST", mediaPath(p, "tracks"), p.token, { tracks });
      },
      renegotiate: (i) => {
        const p = pools.renegotiate[i % pools.renegotiate.length];
        return request("PUT", mediaPath(p, "renegotiate"), p.token, { sessionDescription: CLIENT_ANSWER });
      },
      close: (i) => {
        const { p, mids } = closeUnits[i];
        const body = { tracks: mids.map((mid) => ({ mid })), sessionDescription: CLIENT_OFFER };
        return request("PUT", mediaPath(p, "tracks/close"), p.token, body);
      },
      get: () =>
        fetch(`${url}/api/meetings/${hostMeeting.meeting.id}`, {
          headers: { authorization: `Bearer ${hostMeeting.hostToken}` },
          signal: AbortSignal.timeout(60_000),
        }),
    },
    /** Keeps what a measured call opened, so cleanup closes it. */
    onAnswer: {
      publish: (i, answer) => pools.publish[i % pools.publish.length].open.push(...midsOf(answer)),
      pull: (i, answer) => pools.pull[i % pools.pull.length].open.push(...midsOf(answer)),
    },
  };
}

/**
 * `--meetings` SFU meetings of `--size` people: guests join with invites;
 * the first guest of each opens a session and publishes `mic` and `cam`;
 * the rest are dealt round robin into one pool per media kind, each with a
 * session open (the session pool's is replaced by every measured call).
 */
async function seatParticipants(url, calls) {
  const invites = await inviteTokens(url, opts.meetings * (opts.size - 1), opts.size);
  const joined = [];
  await drive(
    invites.length,
    (i) => fetch(`${url}/api/meetings/join`, jsonRequest({ token: invites[i], displayName: `Guest ${i}` })),
    (i, answer) =>
      (joined[i] = { meetingId: answer.meeting.id, id: answer.participant.id, token: answer.sessionToken }),
  );
  if (joined.filter(Boolean).length !== invites.length) throw new Error(`joins failed: ${firstFailure}`);
  const byMeeting = new Map();
  for (const p of joined) byMeeting.set(p.meetingId, [...(byMeeting.get(p.meetingId) ?? []), p]);
  for (const kind of POOL_KINDS) calls.pools[kind] = [];
  for (const people of byMeeting.values()) {
    const [publisher, ...rest] = people;
    await post(`${url}${calls.mediaPath(publisher, "session")}`, {}, publisher.token);
    const body = calls.publishBody();
    body.tracks[0].trackName = "mic";
    body.tracks[1].trackName = "cam";
    await post(`${url}${calls.mediaPath(publisher, "tracks")}`, body, publisher.token);
    for (const [index, p] of rest.entries()) {
      calls.pools[POOL_KINDS[index % POOL_KINDS.length]].push({ ...p, publisherId: publisher.id, open: [] });
    }
  }
  const all = Object.values(calls.pools).flat();
  await drive(all.length, (i) => calls.request("POST", calls.mediaPath(all[i], "session"), all[i].token, {}));
}

/** One window of `kind` under the profiler: the isolate's top self times, as shares of its samples. */
async function profileKind(kind, calls, inspectorPort) {
  if (!calls.send[kind]) throw new Error(`--profile ${kind}: not a kind (${Object.keys(calls.send).join(", ")})`);
  const profiler = await openProfiler(inspectorPort);
  try {
    await calls.prepare(kind, opts.requests);
    await profiler.start();
    await drive(opts.requests, calls.send[kind], calls.onAnswer[kind]);
    const profile = await profiler.stop();
    await calls.cleanup(kind);
    const sources = await profiler.sources(profile);
    console.log(`\nprofile of ${opts.requests} ${kind} calls: self time, share of the isolate's samples`);
    for (const { name, share } of selfTimes(profile, 25, sources)) {
      console.log(`  ${(share * 100).toFixed(1).padStart(5)}%  ${name}`);
    }
  } finally {
    profiler.close();
  }
}

let exitCode = 0;
let server;
let sfu;
let bundle;
try {
  console.log(`media routes benchmark: ${cpuModel()}, load ${loadAverage()}, ${JSON.stringify(opts)}`);
  bundle = bundleWorker();
  sfu = await startSfuStub();
  const pinned = pin(process.pid, 1) && pin(sfu.pid, 1);
  server = await startMiniflare({
    clients: opts.size,
    scriptPath: bundle.scriptPath,
    configPath: bundle.configPath,
    vars: `SFU_APP_ID:${SFU_APP.appId},SFU_APP_SECRET:${SFU_APP.appSecret},SFU_API_BASE_URL:${sfu.url}`,
    inspector: Boolean(opts.profile),
  });
  const pid = server.pids["workerd (miniflare)"];
  if (pinned) pin(pid, 0);
  console.log(
    pinned ? "workerd pinned to CPU 0; load generator and SFU stub to CPU 1" : "taskset missing: nothing pinned",
  );

  const calls = mediaCalls(server.url);
  await calls.setup();
  await seatParticipants(server.url, calls);
  if (firstFailure) throw new Error(`setup: a call was refused: ${firstFailure}`);
  const poolSizes = POOL_KINDS.map((kind) => `${kind} ${calls.pools[kind].length}`).join(", ");
  const smallest = Math.min(...POOL_KINDS.map((kind) => calls.pools[kind].length));
  // A publish or close phase: its own calls and as many again to open or close tracks, per participant.
  const perPhase = 2 * Math.ceil(opts.requests / smallest);
  console.log(
    `participants per pool: ${poolSizes}; at most ${perPhase} media calls per participant per kind's phase (bucket ${MEDIA_BUCKET})`,
  );
  if (perPhase > MEDIA_BUCKET) throw new Error("too few participants per pool for the media bucket: more --meetings");

  for (const kind of kinds) {
    await calls.prepare(kind, WARM_UP);
    await drive(WARM_UP, calls.send[kind], calls.onAnswer[kind]); // JIT, statement caches, the SFU connection
    await calls.cleanup(kind);
  }
  if (firstFailure) throw new Error(`warm-up: a call was refused: ${firstFailure}`);

  /** µs per call: results[kind] = one value per batch; the stub's CPU and call counts over measured windows. */
  const results = Object.fromEntries(kinds.map((kind) => [kind, []]));
  let stubMicros = 0;
  let stubCalls = 0;
  for (let batch = 0; batch < opts.batches; batch++) {
    const order = kinds.map((_, i) => kinds[(i + batch) % kinds.length]);
    for (const kind of order) {
      await calls.prepare(kind, opts.requests);
      const countsBefore = await sfu.counts();
      const stubBefore = cpuMicros(sfu.pid);
      const before = cpuMicros(pid);
      await drive(opts.requests, calls.send[kind], calls.onAnswer[kind]);
      results[kind].push((cpuMicros(pid) - before) / opts.requests);
      const countsAfter = await sfu.counts();
      if (countsAfter.refused !== countsBefore.refused) throw new Error(`${kind}: the SFU stub refused a call`);
      const made = SFU_OPERATIONS.reduce((sum, op) => sum + countsAfter[op] - countsBefore[op], 0);
      const expected = kind === "get" ? 0 : opts.requests;
      // Each media call makes exactly one SFU call, and a GET none: anything else is background work measured.
      if (made !== expected) throw new Error(`${kind}: ${made} SFU calls in the window, expected ${expected}`);
      stubMicros += cpuMicros(sfu.pid) - stubBefore;
      stubCalls += made;
      await calls.cleanup(kind);
    }
    process.stdout.write(`batch ${batch + 1} of ${opts.batches} (load ${loadAverage()})\n`);
  }

  const nonOk = [...statuses].filter(([status]) => status < 200 || status > 299);
  console.log(`\nanswers: ${[...statuses].map(([status, n]) => `${n} × ${status}`).join(", ")}`);
  if (nonOk.length > 0) throw new Error(`${nonOk.map(([s, n]) => `${n} × ${s}`).join(", ")}; first: ${firstFailure}`);

  const range = (values) =>
    `${round(median(values), 0)} [${round(Math.min(...values), 0)}-${round(Math.max(...values), 0)}]`;
  console.log("\nworkerd CPU per call, µs: median of batches [range]; paired with the same batch's GET");
  for (const kind of kinds) {
    const ratios = (values) =>
      `${round(median(values), 2)} [${round(Math.min(...values), 2)}-${round(Math.max(...values), 2)}]`;
    const paired = results.get
      ? `; − GET ${range(results[kind].map((v, i) => v - results.get[i]))}` +
        `; / GET ${ratios(results[kind].map((v, i) => v / results.get[i]))}`
      : "";
    console.log(`  ${kind.padEnd(12)} ${range(results[kind])}${kind === "get" ? "" : paired}`);
  }
  console.log(
    `SFU stub (excluded above): ${round(stubMicros / Math.max(1, stubCalls), 0)} µs CPU per SFU call over ${stubCalls} calls`,
  );
  console.log(`load average at the end: ${loadAverage()}`);
  if (opts.profile) await profileKind(opts.profile, calls, server.inspectorPort);
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await server?.stop();
  await sfu?.stop();
  bundle?.dispose();
}
process.exit(exitCode);
