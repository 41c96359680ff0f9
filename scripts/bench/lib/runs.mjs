/**
 * The run loop both benchmarks share: each run starts a fresh server,
 * drives the client process against it, stops the server whatever happens,
 * then prints the run and notes its problems. A SIGINT or SIGTERM stops the
 * server of the run in progress before the process exits.
 */
import { driveClients } from "./orchestrate.mjs";
import { loadAverage } from "./proc.mjs";
import { analyseRun, printRun } from "./results.mjs";

const RUN_TIMEOUT_MS = 10 * 60_000;

/** The load both benchmarks offer unless told otherwise (the same, so their numbers compare). */
export const LOAD_DEFAULTS = {
  runs: 3,
  clients: 200,
  messages: 2000,
  warmup: 400,
  rate: 100,
  window: 20,
  minSenderIntervalMs: 250,
  /** Chat round trips between two clients after the chat phases (0: none). */
  roundTrips: 0,
};

/** The server of the run in progress, for the signal handlers. */
let running = null;

/** On SIGINT/SIGTERM: stop the running server, then `cleanup()`, then exit 130. */
export function stopOnSignals(cleanup = () => {}) {
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, async () => {
      await running?.stop();
      cleanup();
      process.exit(130);
    });
  }
}

/**
 * `count` runs against servers from `start()` ({ url, pids, stop }) with the
 * client process `script`; `onCheckpoint(server, run)` may return a per-run
 * checkpoint hook. Resolves to { runs, failed }.
 */
export async function measureRuns({ count, start, script, params, totals, onCheckpoint = () => undefined }) {
  const runs = [];
  let failed = false;
  for (let run = 1; run <= count; run++) {
    const loadBefore = loadAverage();
    const server = await start();
    running = server;
    let result;
    try {
      const measured = await driveClients({
        script,
        params: { ...params, baseUrl: server.url },
        serverPids: server.pids,
        timeoutMs: RUN_TIMEOUT_MS,
        onCheckpoint: onCheckpoint(server, run),
      });
      result = analyseRun(measured, params, totals);
    } finally {
      await server.stop();
      running = null;
    }
    result.loadBefore = loadBefore;
    printRun(`run ${run} (load ${loadBefore})`, result);
    if (result.problems.length > 0) {
      console.error(`  run ${run} FAILED: ${result.problems.join("; ")}`);
      failed = true;
    }
    runs.push(result);
  }
  return { runs, failed };
}
