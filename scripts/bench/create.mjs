#!/usr/bin/env node
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { probeBundle, ROOT, startMiniflare, usingBundle } from "./lib/meettime-server.mjs";
import { median, options, round } from "./lib/orchestrate.mjs";
import { cpuMicros, cpuModel, loadAverage, rssBytes, systemMicros } from "./lib/proc.mjs";
import { createBody, inviteTokens, jsonRequest, post } from "./lib/rest-client.mjs";
import { snapshot, snapshotOfRef } from "./lib/snapshots.mjs";

const opts = options({
  creates: 10_000,
  concurrency: 16,
  cpuRequests: 1_000,
  rounds: 2,
  before: "",
  beforeRef: "",
  bundle: "",
  saveBundle: "",
  idleSeconds: 15,
  only: "",
  json: "",
});
const PARTICIPANTS = 50;
/** Dropped requests described one by one (timing, socket totals); the rest are only counted. */
const MAX_DROP_DETAILS = 20;
const scratch = mkdtempSync(join(tmpdir(), "meettime-bench-create-"));

// ---------------------------------------------------------------- snapshots

function floorSnapshot() {
  return probeBundle(new URL("probe/floor-worker.mjs", import.meta.url), {
    binding: "FLOOR",
    className: "FloorObject",
  });
}

// ---------------------------------------------------------------- load

/** Resident memory of a process in MiB, or null once it is gone. */
function rssMiB(pid) {
  const bytes = rssBytes(pid);
  return bytes === null ? null : bytes / 1024 / 1024;
}

function percentile(sorted, p) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * `total` requests from `concurrency` loops, each sent when the last one of
 * its loop was answered. A request that got no HTTP answer (reset, closed,
 * timed out) is a dropped connection.
 */
async function load({ total, concurrency, send }) {
  let next = 0;
  const latencies = [];
  const statuses = {};
  const drops = {};
  const dropDetails = [];
  const startedAt = performance.now();
  const loop = async () => {
    for (let i = next++; i < total; i = next++) {
      const sentAt = performance.now();
      try {
        const response = await send(i);
        await response.arrayBuffer();
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        latencies.push(performance.now() - sentAt);
      } catch (error) {
        const cause = error?.cause;
        const reason = `${cause?.code ?? error?.name}: ${cause?.message ?? error?.message ?? error}`;
        drops[reason] = (drops[reason] ?? 0) + 1;
        // Who closed it: undici reports the socket's totals. A drop a moment after sending on a
        // socket that had already carried answers is the keep-alive race (the server closed an
        // idle connection as the request went out); a drop after the request's usual time, or
        // on a fresh socket, is the server giving up on a request it had.
        if (dropDetails.length < MAX_DROP_DETAILS) {
          const { localPort, bytesWritten, bytesRead } = cause?.socket ?? {};
          dropDetails.push({ afterMs: round(performance.now() - sentAt), localPort, bytesWritten, bytesRead });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const wallMs = performance.now() - startedAt;
  latencies.sort((a, b) => a - b);
  return {
    total,
    wallMs,
    perSecond: (total / wallMs) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    statuses,
    dropped: Object.values(drops).reduce((a, b) => a + b, 0),
    drops,
    dropDetails,
  };
}

/**
 * workerd CPU per request (µs) of `count` requests at the run's concurrency,
 * into `cpu[kind]`, and its kernel part into `cpu["kind [sys]"]`.
 */
async function cpuPerRequest(cpu, kind, pid, count, send, drops) {
  const before = cpuMicros(pid);
  const sysBefore = systemMicros(pid);
  const result = await phase(drops, `cpu ${kind}`, { total: count, concurrency: opts.concurrency, send });
  cpu[kind] = (cpuMicros(pid) - before) / count;
  cpu[`${kind} [sys]`] = (systemMicros(pid) - sysBefore) / count;
  const failed = count - (result.statuses[200] ?? 0) - (result.statuses[201] ?? 0) - result.dropped;
  if (failed > 0) console.log(`    ! ${failed} of ${count} not 200/201: ${JSON.stringify(result.statuses)}`);
}

/**
 * How many requests the worker itself answered, from its `http.request`
 * log lines on workerd's standard output (the log level is `info`): set by
 * `measure` for the server under test.
 */
const workerAnswers = { count: 0 };

function answerCounter() {
  let partial = "";
  return (chunk) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.includes('"event":"http.request"')) workerAnswers.count++;
  };
}

/**
 * `load` for one named phase of a run (warm-up, CPU samples, the load run);
 * requests that got no answer are kept in `drops` under the phase's name,
 * so a drop anywhere is reported, not only in the load run. With them, how
 * many requests the worker answered in that phase (its log lines) against
 * how many answers arrived: more answered than arrived means the runtime
 * lost answers the worker gave; as many means the dropped requests never
 * reached the worker's code (or it never finished them).
 */
async function phase(drops, name, params) {
  const answeredBefore = workerAnswers.count;
  const result = await load(params);
  if (result.dropped > 0) {
    await sleep(1_000); // the last log lines are still on their way
    drops[name] = {
      dropped: result.dropped,
      of: result.total,
      arrived: result.total - result.dropped,
      workerAnswered: workerAnswers.count - answeredBefore,
      reasons: result.drops,
      details: result.dropDetails,
    };
  }
  return result;
}

/** What makes two error lines the same: our JSON log lines by level, event, status and error; others by text. */
function stderrKey(line) {
  const anonymous = (text) =>
    String(text)
      .replace(/reference = \w+|wdErrId = \w+/g, "…")
      .replace(/[0-9a-f]{16,}/g, "…")
      .replace(/\s+/g, " ")
      .slice(0, 200);
  try {
    const { level, event, status, action, error } = JSON.parse(line);
    return [level, event, action, status, error && anonymous(error)].filter(Boolean).join(" ");
  } catch {
    return anonymous(line);
  }
}

/** workerd's error lines, counted by their message (stack lines dropped): they are thousands under memory pressure. */
function stderrCounter() {
  const counts = {};
  let partial = "";
  const onStderr = (chunk) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim() || line.startsWith("stack:")) continue;
      const key = stderrKey(line);
      counts[key] = (counts[key] ?? 0) + 1;
    }
  };
  return { counts, onStderr };
}

async function measure(name, bundle, isMeetTime) {
  const stderr = stderrCounter();
  /** Requests that got no HTTP answer, by phase. */
  const drops = {};
  const server = await startMiniflare({
    clients: PARTICIPANTS,
    scriptPath: bundle.scriptPath,
    configPath: bundle.configPath,
    onStderr: stderr.onStderr,
    onStdout: answerCounter(),
  });
  const pid = Object.values(server.pids)[0];
  try {
    const url = server.url;
    const create = (i) => fetch(`${url}/api/meetings/create`, jsonRequest(createBody(`Load ${i}`)));
    const floorCreate = (i) => fetch(`${url}/create`, jsonRequest({ title: `Load ${i}` }));
    const send = isMeetTime ? create : floorCreate;
    await phase(drops, "warm-up", { total: 200, concurrency: opts.concurrency, send }); // JIT, statement caches
    const cpu = {};
    await cpuPerRequest(cpu, "create", pid, opts.cpuRequests, send, drops);
    if (isMeetTime) {
      const { meeting, hostToken } = await post(`${url}/api/meetings/create`, createBody("Load 0"));
      const read = () =>
        fetch(`${url}/api/meetings/${meeting.id}`, {
          headers: { authorization: `Bearer ${hostToken}` },
          signal: AbortSignal.timeout(60_000),
        });
      await phase(drops, "warm-up get", { total: 200, concurrency: opts.concurrency, send: read });
      await cpuPerRequest(cpu, "get", pid, opts.cpuRequests, read, drops);
      const tokens = await inviteTokens(url, opts.cpuRequests, PARTICIPANTS);
      const join = (i) =>
        fetch(`${url}/api/meetings/join`, jsonRequest({ token: tokens[i], displayName: `Guest ${i}` }));
      await cpuPerRequest(cpu, "join", pid, opts.cpuRequests, join, drops);
    } else {
      const { id } = await post(`${url}/create`, { title: "read" });
      const read = () => fetch(`${url}/read/${id}`, { signal: AbortSignal.timeout(60_000) });
      await phase(drops, "warm-up get", { total: 200, concurrency: opts.concurrency, send: read });
      await cpuPerRequest(cpu, "get", pid, opts.cpuRequests, read, drops);
      const ping = () => fetch(`${url}/ping`, { signal: AbortSignal.timeout(60_000) });
      await cpuPerRequest(cpu, "ping", pid, opts.cpuRequests, ping, drops);
    }
    // `--creates 0`: CPU per request only, no load run.
    if (opts.creates === 0) return { name, cpu, run: null, rss: null, stderr: stderr.counts, drops };
    const rss = { start: rssMiB(pid), peak: 0 };
    const sampler = setInterval(() => {
      rss.peak = Math.max(rss.peak, rssMiB(pid) ?? 0);
    }, 250);
    const cpuBefore = cpuMicros(pid);
    const run = await phase(drops, "load run", { total: opts.creates, concurrency: opts.concurrency, send });
    clearInterval(sampler);
    run.cpuPerCreate = (cpuMicros(pid) - cpuBefore) / opts.creates;
    rss.end = rssMiB(pid);
    rss.peak = Math.max(rss.peak, rss.end ?? 0);
    await sleep(opts.idleSeconds * 1000);
    rss.idle = rssMiB(pid);
    return { name, cpu, run, rss, stderr: stderr.counts, drops };
  } finally {
    await server.stop();
  }
}

/** Total requests of a result that got no HTTP answer, in any phase. */
const droppedInAll = (result) => Object.values(result.drops).reduce((sum, phase) => sum + phase.dropped, 0);

function report(result) {
  const { name, cpu, run, rss, stderr, drops } = result;
  const cpuText = Object.entries(cpu)
    .map(([k, v]) => `${k} ${round(v, 0)} µs`)
    .join(", ");
  console.log(`  ${name}: CPU per request ${cpuText}`);
  for (const [line, count] of Object.entries(stderr)) console.log(`    workerd stderr ${count} × ${line}`);
  console.log(`    dropped (no HTTP answer): ${droppedInAll(result)}`);
  for (const [phaseName, { dropped, of, arrived, workerAnswered, reasons, details }] of Object.entries(drops)) {
    console.log(
      `      ${phaseName}: ${dropped} of ${of} ${JSON.stringify(reasons)}; ` +
        `the worker answered ${workerAnswered}, ${arrived} answers arrived`,
    );
    for (const drop of details) console.log(`        ${JSON.stringify(drop)}`);
  }
  if (!run) return;
  console.log(
    `    ${run.total} creates at concurrency ${opts.concurrency}: ${round(run.perSecond, 0)}/s, p50 ${round(run.p50)} ms, ` +
      `p99 ${round(run.p99)} ms, CPU ${round(run.cpuPerCreate, 0)} µs/create, statuses ${JSON.stringify(run.statuses)}, ` +
      `dropped ${run.dropped}${run.dropped ? ` ${JSON.stringify(run.drops)}` : ""}`,
  );
  console.log(
    `    workerd RSS MiB: start ${round(rss.start)}, peak ${round(rss.peak)}, end ${round(rss.end)}, ` +
      `after ${opts.idleSeconds} s idle ${round(rss.idle ?? 0)}; ` +
      `${round(((rss.end - rss.start) * 1024) / run.total, 1)} KiB per meeting`,
  );
}

// ---------------------------------------------------------------- main

let exitCode = 0;
let floor;
try {
  console.log(`create benchmark: ${cpuModel()}, load ${loadAverage()}, ${JSON.stringify(opts)}`);
  const after = opts.bundle
    ? usingBundle(opts.bundle)
    : snapshot(ROOT, opts.saveBundle || join(scratch, "after"), scratch);
  const before = opts.before
    ? usingBundle(opts.before)
    : opts.beforeRef
      ? snapshotOfRef(opts.beforeRef, scratch)
      : null;
  floor = floorSnapshot();
  const variants = [
    ["floor", floor, false],
    ...(before ? [["before", before, true]] : []),
    ["after", after, true],
  ].filter(([name]) => !opts.only || opts.only.split(",").includes(name));
  const results = Object.fromEntries(variants.map(([name]) => [name, []]));
  for (let round_ = 1; round_ <= opts.rounds; round_++) {
    console.log(`round ${round_} of ${opts.rounds} (load ${loadAverage()})`);
    for (const [name, bundle, isMeetTime] of variants) {
      const result = await measure(name, bundle, isMeetTime);
      report(result);
      results[name].push(result);
    }
  }

  console.log("\nsummary (median of rounds; range in brackets)");
  const stat = (name, pick) => {
    const values = results[name].map(pick);
    return `${round(median(values), 0)} [${round(Math.min(...values), 0)}-${round(Math.max(...values), 0)}]`;
  };
  for (const [name, , isMeetTime] of variants) {
    const kinds = isMeetTime ? ["create", "get", "join"] : ["create", "get", "ping"];
    console.log(`  ${name}: µs per request ${kinds.map((k) => `${k} ${stat(name, (r) => r.cpu[k])}`).join(", ")}`);
    if (opts.creates === 0) continue;
    console.log(
      `    load run: µs/create ${stat(name, (r) => r.run.cpuPerCreate)}, req/s ${stat(name, (r) => r.run.perSecond)}`,
    );
  }
  for (const name of ["before", "after"].filter((n) => results[n] && results.floor)) {
    const ratios = results[name].map((r, i) => r.cpu.create / results.floor[i].cpu.create);
    const getRatios = results[name].map((r, i) => r.cpu.get / results.floor[i].cpu.get);
    const list = (values) => `${round(median(values), 2)} (${values.map((r) => round(r, 2)).join(", ")})`;
    const inLoad =
      opts.creates === 0
        ? ""
        : `; in the load run ${list(results[name].map((r, i) => r.run.cpuPerCreate / results.floor[i].run.cpuPerCreate))}`;
    console.log(`  ${name} / floor, CPU per create: ${list(ratios)}${inLoad}; per GET: ${list(getRatios)}`);
  }
  for (const [name] of variants) {
    const dropped = results[name].map(droppedInAll);
    console.log(`  ${name}: dropped (no HTTP answer) per round ${dropped.join(", ")}`);
  }
  for (const run of results.after ?? []) {
    if ((run.run && (run.run.statuses[500] ?? 0) > 0) || droppedInAll(run) > 0) exitCode = 1;
  }
  if (exitCode) console.log("FAILED: the working tree answered 500 or dropped connections under load");
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ opts, results }, null, 2));
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  floor?.dispose();
  if (existsSync(scratch)) rmSync(scratch, { recursive: true, force: true });
}
process.exit(exitCode);
