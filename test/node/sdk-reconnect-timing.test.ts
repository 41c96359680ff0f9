/**
 * When the SDK's connection retries: an attempt that never opens (or opens
 * and never brings `meeting:joined`) is given up after `connectTimeoutMs`
 * and retried, and a socket that drops right after its join keeps backing
 * off instead of reconnecting in a tight loop; one that stays up
 * `stableAfterMs` starts the backoff over.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { StateChange } from "../../src/client";
import { fakeClient, NO_JITTER, openAndJoin } from "./helpers/sdk-fakes";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A fake client, and a list for the connection's state changes. */
function recorded() {
  return { ...fakeClient(), states: [] as StateChange[] };
}

describe("connect timeout", () => {
  it("gives up on an attempt that never opens and tries again", async () => {
    const { sockets, connect, states } = recorded();
    const conn = connect({ ...NO_JITTER, connectTimeoutMs: 3_000 });
    conn.on("state", (change) => states.push(change));

    await vi.advanceTimersByTimeAsync(2_999);
    expect(sockets).toHaveLength(1);
    expect(states).toEqual([]);

    await vi.advanceTimersByTimeAsync(1);
    expect(states).toEqual([{ state: "reconnecting", attempt: 1, delayMs: 100 }]);
    expect(sockets[0]!.closedByClient).toBe(1000);
    await vi.advanceTimersByTimeAsync(100);
    expect(sockets).toHaveLength(2);

    openAndJoin(sockets[1]);
    expect(conn.state).toBe("open");
    // Joined in time: no timeout fires on the socket that made it.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sockets).toHaveLength(2);
    conn.close();
  });

  it("gives up on a socket that opens but never brings meeting:joined", async () => {
    const { sockets, connect } = recorded();
    const conn = connect({ ...NO_JITTER, connectTimeoutMs: 3_000 });
    sockets[0]!.open();
    await vi.advanceTimersByTimeAsync(3_100);
    expect(sockets).toHaveLength(2);
    conn.close();
  });
});

describe("backoff after a join", () => {
  it("keeps growing when every join is followed at once by a drop", async () => {
    const { sockets, connect, states } = recorded();
    const conn = connect({ ...NO_JITTER, stableAfterMs: 5_000 });
    openAndJoin(sockets[0]);
    conn.on("state", (change) => change.state === "reconnecting" && states.push(change));

    sockets[0]!.closeFromServer(1011);
    for (let i = 1; i <= 4; i++) {
      await vi.advanceTimersByTimeAsync(10_000);
      openAndJoin(sockets[i]);
      sockets[i]!.closeFromServer(1011);
    }
    expect(states.map((s) => (s.state === "reconnecting" ? [s.attempt, s.delayMs] : s.state))).toEqual([
      [1, 100],
      [2, 200],
      [3, 400],
      [4, 800],
      [5, 1_600],
    ]);
    conn.close();
  });

  it("starts over once a joined socket stayed up stableAfterMs", async () => {
    const { sockets, connect, states } = recorded();
    const conn = connect({ ...NO_JITTER, stableAfterMs: 5_000 });
    openAndJoin(sockets[0]);
    conn.on("state", (change) => change.state === "reconnecting" && states.push(change));
    sockets[0]!.closeFromServer(1011);
    await vi.advanceTimersByTimeAsync(100);
    openAndJoin(sockets[1]);
    sockets[1]!.closeFromServer(1011);
    await vi.advanceTimersByTimeAsync(200);
    openAndJoin(sockets[2]);
    await vi.advanceTimersByTimeAsync(5_000);
    sockets[2]!.closeFromServer(1011);
    expect(states.map((s) => (s.state === "reconnecting" ? s.attempt : s.state))).toEqual([1, 2, 1]);
    conn.close();
  });

  it("counts joins dropped at once towards maxReconnectAttempts", async () => {
    const { sockets, connect } = recorded();
    const conn = connect({ ...NO_JITTER, maxReconnectAttempts: 2 });
    openAndJoin(sockets[0]);
    for (let i = 0; i < 3 && conn.state !== "closed"; i++) {
      sockets[i]!.closeFromServer(1011);
      await vi.advanceTimersByTimeAsync(10_000);
      if (sockets[i + 1]) openAndJoin(sockets[i + 1]);
    }
    expect(conn.closeReason).toBe("gave-up");
  });
});
