/**
 * Process CPU accounting from /proc: utime + stime of whole processes (all
 * threads), in clock ticks converted to microseconds, and the process tree
 * walk that finds a server's workerd children. CPU time, not wall time, is
 * what the benchmarks compare: the machine is shared.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (usually 100, so 10 ms resolution). */
export const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // comm (field 2) may hold spaces and parentheses: the fields that follow start after the last ')'.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** utime + stime of a process (every thread), in microseconds; null when it is gone. */
export function cpuMicros(pid) {
  try {
    const fields = statFields(pid); // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Kernel-mode part (stime) of a process's CPU, in microseconds; null when it is gone. */
export function systemMicros(pid) {
  try {
    return (Number(statFields(pid)[12]) * 1e6) / CLK_TCK;
  } catch {
    return null;
  }
}

/** CPU of several named processes at once: { name: micros, "name [sys]": kernel part }. */
export function sampleCpu(pids) {
  return Object.fromEntries(
    Object.entries(pids).flatMap(([name, pid]) => [
      [name, cpuMicros(pid)],
      [`${name} [sys]`, systemMicros(pid)],
    ]),
  );
}

/** Resident memory of a process (VmRSS), in bytes; null when it is gone. */
export function rssBytes(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("VmRSS:"));
    return line ? Number(line.split(/\s+/)[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** RSS of several named processes at once: { name: bytes }. */
export function sampleRss(pids) {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, rssBytes(pid)]));
}

export function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

export function comm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

function parentOf(pid) {
  try {
    return Number(statFields(pid)[1]);
  } catch {
    return -1;
  }
}

/** Every live descendant of `root`, found by scanning /proc parent links. */
export function descendants(root) {
  const parents = new Map();
  for (const entry of readdirSync("/proc")) {
    if (/^\d+$/.test(entry)) parents.set(Number(entry), parentOf(Number(entry)));
  }
  const found = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift();
    for (const [child, parent] of parents) {
      if (parent === pid) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pins every thread of `pid` to `cpu`; quietly does nothing where `taskset` is missing. */
export function pin(pid, cpu) {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function cpuModel() {
  const line = readFileSync("/proc/cpuinfo", "utf8")
    .split("\n")
    .find((l) => l.startsWith("model name"));
  return line ? line.split(":")[1].trim() : "unknown";
}

export function loadAverage() {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}
