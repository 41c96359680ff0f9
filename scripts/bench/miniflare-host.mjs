/**
 * Runs the bundled MeetTime worker in Miniflare directly, without wrangler
 * dev's proxy process in front: one workerd process then carries the worker,
 * the Durable Object and every WebSocket, so its CPU is the whole server's.
 * Same Miniflare and workerd as wrangler dev (the copy wrangler depends on),
 * bindings read from the snapshot's wrangler.toml as wrangler would. Child of broadcast.mjs.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";

const params = await new Promise((resolve) => process.once("message", resolve));
const require = createRequire(import.meta.url);
const wranglerPackage = require.resolve("wrangler/package.json");
const { Miniflare } = createRequire(wranglerPackage)("miniflare");
const { unstable_getMiniflareWorkerOptions } = await import("wrangler");

const { workerOptions } = unstable_getMiniflareWorkerOptions(params.configPath);
const miniflare = new Miniflare({
  ...workerOptions,
  host: "127.0.0.1",
  port: params.port,
  inspectorPort: params.inspectorPort, // undefined: no inspector
  modules: true,
  scriptPath: params.scriptPath,
  modulesRoot: dirname(params.scriptPath),
  bindings: { ...workerOptions.bindings, ...params.vars },
  durableObjectsPersist: params.persistDir,
});
const url = await miniflare.ready;
process.send({ ready: url.toString() });
const stop = async () => {
  await miniflare.dispose();
  process.exit(0);
};
process.on("message", (message) => message?.stop && stop());
process.on("disconnect", stop); // the benchmark went away: take workerd down with us
