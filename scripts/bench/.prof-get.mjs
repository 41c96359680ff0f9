// one-off: V8 profile of N GETs against a saved bundle, run in Miniflare with an inspector
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openProfiler, selfTimes } from "./lib/profiler.mjs";
const [bundleDir, n = "4000"] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { Miniflare } = createRequire(require.resolve("wrangler/package.json"))("miniflare");
const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
const { workerOptions } = unstable_getMiniflareWorkerOptions(join(bundleDir, "wrangler.toml"));
const mf = new Miniflare({ ...workerOptions, host: "127.0.0.1", port: 8790, inspectorPort: 9390, modules: true,
  scriptPath: join(bundleDir, "index.js"), modulesRoot: bundleDir,
  bindings: { ...workerOptions.bindings, JWT_SECRET: "bench-secret-0123456789abcdef0123456789", RATE_LIMIT_MAX_REQUESTS: "100000000" },
  durableObjectsPersist: mkdtempSync(join(tmpdir(), "prof-")) });
const url = (await mf.ready).toString().replace(/\/$/, "");
const created = await (await fetch(`${url}/api/meetings/create`, { method: "POST", headers: { "content-type": "application/json" },
  body: JSON.stringify({ title: "p", hostName: "Host", scheduledAt: new Date(Date.now() + 3600e3).toISOString() }) })).json();
const get = async () => { const r = await fetch(`${url}/api/meetings/${created.meeting.id}`, { headers: { authorization: `Bearer ${created.hostToken}` } }); await r.arrayBuffer(); if (r.status !== 200) throw new Error(String(r.status)); };
const run = async (total) => { let i = 0; await Promise.all(Array.from({ length: 16 }, async () => { while (i++ < total) await get(); })); };
await run(500);
const inspector = await (await fetch("http://127.0.0.1:9390/json")).json();
console.log(inspector.map((t) => t.title));
const prof = await openProfiler(9390);
await prof.start();
await run(Number(n));
const profile = await prof.stop();
const sources = await prof.sources(profile);
for (const { name, share } of selfTimes(profile, 45, sources)) console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${name}`);
prof.close();
await mf.dispose();
