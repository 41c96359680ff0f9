/**
 * The SDK's send queue (src/client/outbox.ts): frames sent while the
 * connection is down, or while its socket is closing though the connection
 * still says open, wait in a queue bounded by `queueLimit` and go out in the
 * order they were sent once the connection is back.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fakeClient, joinedEvent, NO_JITTER, openAndJoin } from "./helpers/sdk-fakes";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const TEXTS = ["a", "b", "c", "d", "e", "f"];

/** Sends each text as a chat message; the promises' outcomes, in order. */
function sendAll(send: (text: string) => Promise<void>) {
  const outcomes: string[] = TEXTS.map(() => "pending");
  TEXTS.forEach((text, i) => {
    send(text).then(
      () => (outcomes[i] = "sent"),
      (error) => (outcomes[i] = error.code),
    );
  });
  return outcomes;
}

describe("the send queue", () => {
  it("keeps the bound and the order while the socket is closing but the connection still says open", async () => {
    const { sockets, connect } = fakeClient();
    const conn = connect({ ...NO_JITTER, queueLimit: 3 });
    openAndJoin(sockets[0]);
    expect(conn.state).toBe("open");

    sockets[0]!.startClosing();
    const outcomes = sendAll((text) => conn.sendChat(text));
    await vi.advanceTimersByTimeAsync(0);
    expect(conn.state).toBe("open");
    expect(conn.queuedFrames).toBe(3);
    expect(outcomes).toEqual(["pending", "pending", "pending", "QUEUE_FULL", "QUEUE_FULL", "QUEUE_FULL"]);

    sockets[0]!.closeFromServer(1006);
    await vi.advanceTimersByTimeAsync(100);
    openAndJoin(sockets[1]);
    const resent = sockets[1]!.sentOf("chat:message");
    expect(resent.map((frame) => frame.data.text)).toEqual(["a", "b", "c"]);
    for (const frame of resent) sockets[1]!.receive({ type: "ack", id: frame.id });
    await vi.advanceTimersByTimeAsync(0);
    expect(outcomes).toEqual(["sent", "sent", "sent", "QUEUE_FULL", "QUEUE_FULL", "QUEUE_FULL"]);
    conn.close();
  });

  it("keeps the bound and the order while reconnecting, and sends at once when open", async () => {
    const { sockets, connect } = fakeClient();
    const conn = connect({ ...NO_JITTER, queueLimit: 3 });
    openAndJoin(sockets[0]);
    sockets[0]!.closeFromServer(1006);
    expect(conn.state).toBe("reconnecting");

    const outcomes = sendAll((text) => conn.sendChat(text));
    await vi.advanceTimersByTimeAsync(100);
    // The new socket is open but not yet joined: still reconnecting, nothing goes out.
    sockets[1]!.open();
    expect(sockets[1]!.sent).toEqual([]);
    sockets[1]!.receive(joinedEvent());
    expect(sockets[1]!.sentOf("chat:message").map((frame) => frame.data.text)).toEqual(["a", "b", "c"]);
    expect(outcomes.slice(3)).toEqual(["QUEUE_FULL", "QUEUE_FULL", "QUEUE_FULL"]);

    void conn.sendChat("g").catch(() => {});
    expect(sockets[1]!.sentOf("chat:message").map((frame) => frame.data.text)).toEqual(["a", "b", "c", "g"]);
    expect(conn.queuedFrames).toBe(0);
    conn.close();
  });
});
