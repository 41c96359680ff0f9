/**
 * The app's chat history (src/web/chat-history.ts): bounded, in `seq`
 * order, each message once, with work per message that does not grow with
 * the meeting's length; and the throttle that folds a burst of chat into
 * one sessionStorage write per interval.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ChatMessageData } from "../../src/client/types";
import { ChatHistory, throttled } from "../../src/web/chat-history";

/** A message whose `seq` reads are counted in `reads`: the work adding a message does. */
const reads = { seq: 0 };
function message(seq: number): ChatMessageData {
  const data = {
    id: `m${seq}`,
    seq,
    participantId: "p",
    name: "Grace",
    text: `#${seq}`,
    ts: "2026-12-01T10:00:00.000Z",
  };
  return new Proxy(data, {
    get(target, key) {
      if (key === "seq") reads.seq += 1;
      return target[key as keyof typeof target];
    },
  });
}
const seqs = (history: ChatHistory) => history.messages.map((m) => m.id);

describe("ChatHistory", () => {
  it("keeps each message once, in seq order, whatever order they arrive in", () => {
    const history = new ChatHistory(10);
    for (const seq of [1, 2, 5, 3, 5, 2, 4]) history.add(message(seq));
    expect(seqs(history)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
    expect(history.add(message(4))).toEqual({ added: false });
    expect(history.add(message(6))).toEqual({ added: true, beforeSeq: undefined, evicted: [] });
    expect(history.add(message(0))).toEqual({ added: true, beforeSeq: 1, evicted: [] });
  });

  it("keeps only the latest messages and says which fell off", () => {
    const history = new ChatHistory(3);
    for (const seq of [1, 2, 3]) history.add(message(seq));
    expect(history.add(message(4))).toEqual({ added: true, beforeSeq: undefined, evicted: [1] });
    // Older than everything kept, with the history full: not shown again.
    expect(history.add(message(1))).toEqual({ added: false });
    expect(seqs(history)).toEqual(["m2", "m3", "m4"]);
    for (let seq = 5; seq <= 1000; seq += 1) history.add(message(seq));
    expect(seqs(history)).toEqual(["m998", "m999", "m1000"]);
  });

  it("does the same work for the 10,000th message as for the 300th", () => {
    const history = new ChatHistory(200);
    const workFor = (seq: number) => {
      reads.seq = 0;
      history.add(message(seq));
      return reads.seq;
    };
    let at300 = 0;
    for (let seq = 1; seq <= 10_000; seq += 1) {
      const work = workFor(seq);
      if (seq === 300) at300 = work;
      if (seq === 10_000) expect(work).toBe(at300);
    }
    // Nor does it look through the 200 kept: an in-order message is appended.
    expect(at300).toBeLessThan(20);
    // A duplicate is found without looking through the history.
    expect(workFor(9_999)).toBeLessThanOrEqual(1);
  });
});

describe("throttled", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes a burst once at once and once after the interval, not once per call", () => {
    vi.useFakeTimers();
    const write = vi.fn();
    const persist = throttled(write, 1000);
    for (let i = 0; i < 500; i += 1) persist.request();
    expect(write).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    expect(write).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(5000);
    expect(write).toHaveBeenCalledTimes(2);
    persist.request();
    expect(write).toHaveBeenCalledTimes(3);
  });

  it("flushes a pending write at once, and cancel drops it", () => {
    vi.useFakeTimers();
    const write = vi.fn();
    const persist = throttled(write, 1000);
    persist.request();
    persist.request();
    persist.flush();
    expect(write).toHaveBeenCalledTimes(2);
    persist.flush();
    expect(write).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(1000);
    persist.request();
    persist.request();
    persist.cancel();
    vi.advanceTimersByTime(5000);
    expect(write).toHaveBeenCalledTimes(3);
  });
});
