#!/usr/bin/env node
/**
 * Runs a command in a network namespace of its own, so test traffic
 * (wrangler dev, browsers, coturn, media) cannot leave the machine:
 * `unshare -n` as root, `unshare -r -n` (a user namespace) for anyone else
 * where the kernel allows it, then `ip link set lo up`.
 *
 * The namespace also gets a LAN address, as a developer's machine has:
 * 10.77.0.1 on one end of a veth pair whose other end is in the same
 * namespace, so a datagram on it still reaches nothing outside. A browser
 * started without WebRTC flags gathers its candidates there (it ignores
 * loopback), which is how the tests see what a person's browser does. The
 * command finds the address in MEETTIME_TEST_LAN_ADDRESS; CI requires it.
 *
 * Where no namespace can be made (not Linux, no `unshare` or `ip`,
 * namespaces refused) it runs the command as it is and says so, except
 * under CI (`CI=true`), where the namespace is required and its absence
 * fails the run.
 * `MEETTIME_NETNS=off` runs the command as it is (for debugging a test).
 *
 *   node scripts/netns-run.mjs vitest run -c vitest.e2e.config.ts [files…]
 */
import { spawn, spawnSync } from "node:child_process";

const command = process.argv.slice(2);
if (command.length === 0) {
  console.error("usage: node scripts/netns-run.mjs <command> [args…]");
  process.exit(2);
}

const required = process.env.CI === "true" || process.env.CI === "1";
const LOOPBACK_UP = "ip link set lo up";
const LAN_ADDRESS = "10.77.0.1";
// Either the address is up and exported, or the shell says why not (and, under CI, stops).
const LAN_UP =
  `{ ip link add mt-lan type veth peer name mt-lan-peer && ip addr add ${LAN_ADDRESS}/24 dev mt-lan` +
  " && ip link set mt-lan up && ip link set mt-lan-peer up" +
  ` && export MEETTIME_TEST_LAN_ADDRESS=${LAN_ADDRESS}; } ||` +
  ` { echo "netns-run: no LAN address in the namespace (veth refused)" >&2; ${required ? "exit 1;" : "true;"} }`;

/** The `unshare` arguments that make a loopback-only namespace here, or the reason there is none. */
function namespaceArgs() {
  if (process.env.MEETTIME_NETNS === "off") return { reason: "MEETTIME_NETNS=off" };
  if (process.platform !== "linux") return { reason: `not Linux (${process.platform})` };
  for (const tool of ["unshare", "ip"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status !== 0) {
      return { reason: `\`${tool}\` is missing (util-linux, iproute2)` };
    }
  }
  const candidates = process.getuid?.() === 0 ? [["-n"], ["-r", "-n"]] : [["-r", "-n"]];
  for (const flags of candidates) {
    // A namespace counts only if loopback comes up in it and nothing else is there to reach.
    const probe = spawnSync("unshare", [...flags, "sh", "-c", `${LOOPBACK_UP} && ip -o link show up`], {
      encoding: "utf8",
    });
    const up = probe.status === 0 ? probe.stdout.trim().split("\n") : [];
    if (up.length === 1 && /\blo\b/.test(up[0])) return { flags };
  }
  return { reason: "the kernel refused a network namespace (unshare -n)" };
}

const { flags, reason } = namespaceArgs();
let child;
if (flags) {
  console.error(`netns-run: in a network namespace of its own (unshare ${flags.join(" ")}): ${command.join(" ")}`);
  // `exec "$@"`: the command replaces the shell, so its exit status and signals are the command's own.
  const setup = `${LOOPBACK_UP} && ${LAN_UP}`;
  child = spawn("unshare", [...flags, "sh", "-c", `${setup} && exec "$@"`, "netns-run", ...command], {
    stdio: "inherit",
  });
} else if (required) {
  console.error(`netns-run: CI requires a loopback-only network namespace, but ${reason}`);
  process.exit(1);
} else {
  console.error(`netns-run: no loopback-only network namespace (${reason}); running with the machine's network`);
  child = spawn(command[0], command.slice(1), { stdio: "inherit", shell: process.platform === "win32" });
}

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
child.on("error", (error) => {
  console.error(`netns-run: ${error.message}`);
  process.exit(1);
});
