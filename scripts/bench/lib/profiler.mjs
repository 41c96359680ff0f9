/**
 * V8 CPU profile of the MeetTime isolate (worker + Durable Object) through
 * wrangler dev's inspector, for `broadcast.mjs --profile <file>`: where the
 * server's JavaScript time goes in the measured window. Profiling costs CPU
 * itself, so a profiled run's CPU numbers are not comparable; run it apart.
 */
import WebSocket from "ws";

export async function openProfiler(inspectorPort) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const pending = new Map();
  let nextId = 1;
  ws.on("message", (raw) => {
    const message = JSON.parse(raw.toString());
    const waiter = pending.get(message.id);
    if (!waiter) return; // events (console, scripts) are not ours
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`${message.error.message}`));
    else waiter.resolve(message.result);
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  return {
    start: () => call("Profiler.start"),
    stop: async () => (await call("Profiler.stop")).profile,
    /** The source of the scripts a profile names, so its line numbers can be read (wrangler re-bundles). */
    sources: async (profile) => {
      await call("Debugger.enable");
      const ids = new Set(profile.nodes.map((node) => node.callFrame.scriptId).filter((id) => id !== "0"));
      const sources = {};
      for (const scriptId of ids) {
        try {
          sources[scriptId] = (await call("Debugger.getScriptSource", { scriptId })).scriptSource;
        } catch {
          // Internal scripts have no source to show.
        }
      }
      await call("Debugger.disable");
      return sources;
    },
    close: () => ws.close(),
  };
}

/** Self time per function (name, file, line), largest first, as shares of all samples; with the line's code when `sources` has it. */
export function selfTimes(profile, limit = 25, sources = {}) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const byFunction = new Map();
  for (const [id, count] of counts) {
    const { functionName, url, lineNumber, scriptId } = nodes.get(id).callFrame;
    const code = sources[scriptId]?.split("\n")[lineNumber]?.trim().slice(0, 70);
    const key = `${functionName || "(anonymous)"} ${url.split("/").pop()}:${lineNumber + 1}${code ? `  ${code}` : ""}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + count);
  }
  const total = profile.samples.length;
  return [...byFunction]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, count]) => ({ name, share: count / total }));
}
