/**
 * Turns one run's CPU samples into the numbers the benchmark reports, checks
 * that the run was clean (every delivery, nothing refused), and prints the
 * median of several runs.
 */
import { cpuBetween, IDLE_SAMPLE_MS, median, round } from "./orchestrate.mjs";

/**
 * Per process: µs of CPU per delivery over all M messages and over the
 * warm-up-excluded window, idle CPU, and (when measured) µs per create.
 * `totals` names sums of processes, e.g. { "server (all workerd)": [a, b] }.
 */
export function analyseRun({ samples, info }, params, totals = {}) {
  const withTotals = (cpu) => {
    const out = { ...cpu };
    for (const [name, parts] of Object.entries(totals)) {
      out[name] = parts.reduce((sum, part) => sum + cpu[part], 0);
      out[`${name} [sys]`] = parts.reduce((sum, part) => sum + cpu[`${part} [sys]`], 0);
    }
    return out;
  };
  const perUnit = (cpu, units) => Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / units]));
  const done = info.done;
  const allDeliveries = params.messages * params.clients;
  const windowDeliveries = (params.messages - params.warmup) * params.clients;
  const problems = [];
  for (const [checkpoint, { cpu }] of Object.entries(samples)) {
    const gone = Object.keys(cpu).filter((name) => cpu[name] === null);
    if (gone.length > 0) problems.push(`${gone.join(", ")} gone at checkpoint ${checkpoint} (restarted mid-run?)`);
  }
  if (done.deliveries !== allDeliveries) problems.push(`${done.deliveries} of ${allDeliveries} deliveries`);
  if (done.duplicates) problems.push(`${done.duplicates} duplicate deliveries`);
  if (done.strays) problems.push(`${done.strays} unknown chat messages`);
  if (done.rateLimited) problems.push(`${done.rateLimited} chat messages refused with RATE_LIMITED`);
  if (done.errorFrames) problems.push(`${done.errorFrames} error frames: ${JSON.stringify(done.errorCodes)}`);
  const mib = (checkpoint) =>
    samples[checkpoint]
      ? Object.fromEntries(Object.entries(samples[checkpoint].rss).map(([k, v]) => [k, v / 2 ** 20]))
      : {};
  const result = {
    problems,
    connectMs: done.connectMs,
    extensions: done.extensions,
    latency: done.latency,
    firstDelivery: done.firstDelivery,
    fanOutSpread: done.fanOutSpread,
    roundTrip: info["round-trips"],
    memoryMiB: { beforeSockets: mib("connecting"), connected: mib("connected"), done: mib("done") },
    idleMicrosPerSecond: perUnit(withTotals(cpuBetween(samples, "connected", "idle")), IDLE_SAMPLE_MS / 1000),
    all: {
      microsPerDelivery: perUnit(withTotals(cpuBetween(samples, "idle", "done")), allDeliveries),
      deliveriesPerSecond: allDeliveries / ((done.warmWallMs + done.wallMs) / 1000),
    },
    window: {
      microsPerDelivery: perUnit(withTotals(cpuBetween(samples, "warm", "done")), windowDeliveries),
      deliveriesPerSecond: windowDeliveries / (done.wallMs / 1000),
    },
  };
  if (samples["creates:done"] && params.creates > 0) {
    const grown = (name) => samples["creates:done"].rss[name] - samples["creates:start"].rss[name];
    result.creates = {
      kibPerMeeting: Object.fromEntries(
        Object.keys(samples["creates:done"].rss).map((n) => [n, grown(n) / 1024 / params.creates]),
      ),
      microsPerCreate: perUnit(withTotals(cpuBetween(samples, "creates:start", "creates:done")), params.creates),
      wallMsPerCreate: info["creates:done"].wallMs / params.creates,
    };
  }
  return result;
}

const fmt = (v, digits = 2) => (v === undefined || Number.isNaN(v) ? "-" : round(v, digits).toFixed(digits));

/** One line per run, so contention shows as spread. */
export function printRun(label, run) {
  const w = run.window.microsPerDelivery;
  const parts = Object.entries(w)
    .filter(([name]) => !name.endsWith("[sys]"))
    .map(([name, v]) => `${name} ${fmt(v)}`);
  console.log(
    `  ${label}: µs/delivery (window) ${parts.join(", ")}; ${fmt(run.window.deliveriesPerSecond, 0)} deliveries/s`,
  );
  const { latency, roundTrip } = run;
  const server = Object.keys(run.memoryMiB.connected).find(
    (name) => !name.includes("node ") || name.includes("socket.io"),
  );
  console.log(
    `  ${label}: latency p50 ${fmt(latency?.p50)} / p99 ${fmt(latency?.p99)} / max ${fmt(latency?.max)} ms; ` +
      `connect ${fmt(run.connectMs, 0)} ms; ` +
      `${server} RSS ${fmt(run.memoryMiB.beforeSockets[server], 1)} → ${fmt(run.memoryMiB.connected[server], 1)} → ${fmt(run.memoryMiB.done[server], 1)} MiB` +
      (roundTrip ? `; round trip p50 ${fmt(roundTrip.p50)} ms` : ""),
  );
  const { firstDelivery: first, fanOutSpread: spread } = run;
  console.log(
    `  ${label}: to the first recipient p50 ${fmt(first?.p50)} / p99 ${fmt(first?.p99)} ms; ` +
      `first to last recipient p50 ${fmt(spread?.p50)} / p99 ${fmt(spread?.p99)} ms`,
  );
  if (run.creates) {
    const c = Object.entries(run.creates.microsPerCreate)
      .filter(([name]) => !name.endsWith("[sys]"))
      .map(([name, v]) => `${name} ${fmt(v, 0)}`);
    console.log(`  ${label}: µs/create ${c.join(", ")}; ${fmt(run.creates.wallMsPerCreate, 1)} ms wall/create`);
  }
}

/** Median over runs of every number in the per-run results, printed as a table. */
export function summarise(title, runs) {
  const pick = (get) => median(runs.map(get));
  const names = Object.keys(runs[0].window.microsPerDelivery);
  const summary = { runs: runs.length, processes: {} };
  console.log(`\n${title}: median of ${runs.length} run(s)`);
  console.log("  process                         µs/delivery all  µs/delivery window  idle µs/s  µs/create");
  for (const name of names) {
    const row = {
      microsPerDeliveryAll: pick((r) => r.all.microsPerDelivery[name]),
      microsPerDeliveryWindow: pick((r) => r.window.microsPerDelivery[name]),
      idleMicrosPerSecond: pick((r) => r.idleMicrosPerSecond[name]),
      microsPerCreate: runs[0].creates ? pick((r) => r.creates.microsPerCreate[name]) : undefined,
    };
    summary.processes[name] = row;
    console.log(
      `  ${name.padEnd(32)}${fmt(row.microsPerDeliveryAll).padStart(15)}${fmt(row.microsPerDeliveryWindow).padStart(20)}${fmt(row.idleMicrosPerSecond, 0).padStart(11)}${fmt(row.microsPerCreate, 0).padStart(11)}`,
    );
  }
  summary.deliveriesPerSecondAll = pick((r) => r.all.deliveriesPerSecond);
  summary.deliveriesPerSecondWindow = pick((r) => r.window.deliveriesPerSecond);
  console.log(
    `  deliveries/s: all ${fmt(summary.deliveriesPerSecondAll, 0)}, window ${fmt(summary.deliveriesPerSecondWindow, 0)}`,
  );
  if (runs[0].creates) {
    summary.wallMsPerCreate = pick((r) => r.creates.wallMsPerCreate);
    console.log(`  create: ${fmt(summary.wallMsPerCreate, 1)} ms wall per sequential create`);
  }
  return summary;
}
