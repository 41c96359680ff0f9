#!/usr/bin/env node
// `npm run dev`: local server on http://127.0.0.1:8787 with local Durable Object
// storage (.wrangler/state), no Cloudflare account. Creates .dev.vars from the
// example on first run so the local JWT secret exists.
//
// Media goes through the SFU by default, as in a large meeting: the local SFU
// (sfu/server.mjs) starts on 127.0.0.1:8790 (SFU_PORT) and the worker is pointed
// at it. MEETTIME_MEDIA=mesh runs peer to peer instead (no SFU started, no SFU
// variables passed). Both are described in docs/operations.md.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { spawnLocalSfu } from "./lib/sfu-stack.mjs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("created .dev.vars from .dev.vars.example (local development secret)");
}

const media = process.env.MEETTIME_MEDIA ?? "sfu";
if (media !== "sfu" && media !== "mesh") {
  console.error(`MEETTIME_MEDIA must be "sfu" or "mesh", not "${media}"`);
  process.exit(2);
}
const sfu =
  media === "sfu"
    ? await spawnLocalSfu({ port: Number(process.env.SFU_PORT ?? 8790), stdio: "inherit", peers: "machine" })
    : null;
if (sfu) {
  console.log("media: through the local SFU (MEETTIME_MEDIA=mesh npm run dev for peer to peer).");
  console.log("it answers browsers on this machine only: open the app's tabs here, in any browser.");
} else console.log("media: peer to peer (mesh)");
const sfuArgs = sfu ? Object.entries(sfu.vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]) : [];

const port = process.env.PORT ?? "8787";
const child = spawn(
  "npx",
  ["wrangler", "dev", "--ip", "127.0.0.1", "--port", port, ...sfuArgs, ...process.argv.slice(2)],
  {
    stdio: "inherit",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  },
);
const stopSfu = () => sfu?.stop();
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", async (code) => {
  await stopSfu();
  process.exit(code ?? 0);
});
