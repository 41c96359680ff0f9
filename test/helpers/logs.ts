/** Reading what the worker logged during a test. */
import { vi } from "vitest";

/** Starts recording console output; the returned function gives everything logged so far, as one string. */
export function captureLogs() {
  const spies = (["log", "warn", "error"] as const).map((level) => vi.spyOn(console, level));
  return () => spies.flatMap((spy) => spy.mock.calls.map((args) => args.join(" "))).join("\n");
}
