// Types the pool's `env` (cloudflare:test) as the worker's own bindings.
import type { Env as WorkerEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
  }
}
