/**
 * Parent side of a benchmark run: forks the clients into their own process,
 * reads the CPU of the server processes at every checkpoint the clients
 * reach, and turns the samples into per-phase numbers. Also the shared
 * summary (median of runs) and the guard that stops a run that hangs.
 */
import { fork } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { sampleCpu, sampleRss } from "./proc.mjs";

export const IDLE_SAMPLE_MS = 2_000;

/**
 * Runs `script` as the client process with `params`; `serverPids` names the
 * processes to account; `onCheckpoint` runs after each sample, before the
 * clients go on. Resolves to { samples: { checkpoint: { at, cpu } }, info }.
 */
export function driveClients({ script, params, serverPids, timeoutMs, onCheckpoint = async () => {} }) {
  return new Promise((resolve, reject) => {
    const child = fork(script, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const killChild = () => child.kill("SIGKILL");
    process.once("exit", killChild); // an interrupted benchmark takes its clients with it
    const samples = {};
    const info = {};
    const sample = (name) => {
      samples[name] = {
        at: performance.now(),
        cpu: { ...sampleCpu(serverPids), ...sampleCpu({ clients: child.pid }) },
        rss: sampleRss(serverPids),
      };
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`clients did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on("message", async (message) => {
      const name = message.checkpoint;
      sample(name);
      info[name] = message.info;
      if (name === "connected") {
        // How much the server burns doing nothing: background timers, keep-alives.
        await sleep(IDLE_SAMPLE_MS);
        sample("idle");
      }
      await onCheckpoint(name);
      child.send({ continue: name });
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      process.off("exit", killChild);
      if (code === 0) resolve({ samples, info });
      else reject(new Error(`client process exited with ${code}`));
    });
    child.send(params);
  });
}

/** CPU (µs) each process spent between two checkpoints. */
export function cpuBetween(samples, from, to) {
  const a = samples[from].cpu;
  const b = samples[to].cpu;
  return Object.fromEntries(Object.keys(b).map((name) => [name, b[name] - a[name]]));
}

export const wallBetween = (samples, from, to) => samples[to].at - samples[from].at;

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Reads `--name value` / `--name=value` options with numeric or string defaults. */
export function options(defaults) {
  const out = { ...defaults };
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const match = /^--([\w-]+)(?:=(.*))?$/.exec(args[i]);
    if (!match) throw new Error(`unexpected argument ${args[i]}`);
    const key = match[1].replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option --${match[1]}; known: ${Object.keys(defaults).join(", ")}`);
    const raw = match[2] ?? args[++i];
    out[key] = typeof defaults[key] === "number" ? Number(raw) : raw;
  }
  return out;
}

export const round = (value, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
