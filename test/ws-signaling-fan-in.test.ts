/**
 * Signaling fan-in (contract 1.1): at most 100 signaling frames a second
 * into one participant (a bucket of 200), whatever the number of senders.
 * A sender over it gets RATE_LIMITED for that frame, which is not delivered;
 * such refusals are the target's limit, not the sender flooding, so they
 * never close the sender's connection.
 */
import { describe, expect, it } from "vitest";
import { FrameRateLimits } from "../src/ratelimit/frame-buckets";
import { deliverAtOnce } from "./helpers/deliver";
import type { Frame } from "./helpers/sockets";
import { liveMeeting } from "./helpers/sockets";

const candidate = (to: string, i: number, id: string) => ({
  type: "webrtc:ice-candidate",
  id,
  data: { to, candidate: { candidate: `candidate:${i} 1 udp 2122260223 10.0.0.1 ${40000 + i} typ host` } },
});

const outcome = (reply: Frame) => (reply.type === "ack" ? "ack" : (reply.error?.code ?? "?"));

describe("signaling into one participant", () => {
  it("lets 200 through at once from three senders together, refuses the rest, and delivers only what it acked", async () => {
    const m = await liveMeeting("Grace", "Linus", "Ken");
    const deliveries = m.guests.flatMap((guest) =>
      Array.from({ length: 100 }, (_, i) => ({
        participantId: guest.id,
        message: candidate(m.host.id, i, `${guest.name}-${i}`),
      })),
    );
    const { elapsedMs } = await deliverAtOnce(m.id, deliveries);

    const outcomes: Record<string, number> = {};
    for (const guest of m.guests) {
      for (let i = 0; i < 100; i++) {
        const code = outcome(await guest.socket.reply(`${guest.name}-${i}`));
        outcomes[code] = (outcomes[code] ?? 0) + 1;
      }
    }
    expect(outcomes.ack).toBeGreaterThanOrEqual(200);
    expect(outcomes.ack).toBeLessThanOrEqual(200 + Math.floor((elapsedMs / 1000) * 100));
    expect(outcomes.RATE_LIMITED).toBe(300 - outcomes.ack!);
    await m.host.socket.all("webrtc:ice-candidate", outcomes.ack!);
    await m.host.socket.expectNo("never", 200);
    expect(m.host.socket.count("webrtc:ice-candidate")).toBe(outcomes.ack);

    // Every sender stayed within its own bucket, so none is closed, though Ken was refused ~100 times.
    for (const guest of m.guests) expect(guest.socket.closeEvent).toBeUndefined();
  });

  it("is per target: signaling to someone else still passes while one participant is saturated", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    const deliveries = [
      ...Array.from({ length: 200 }, (_, i) => ({
        participantId: linus!.id,
        message: candidate(m.host.id, i, `l-${i}`),
      })),
      ...Array.from({ length: 5 }, (_, i) => ({
        participantId: grace!.id,
        message: candidate(m.host.id, i, `g-${i}`),
      })),
      { participantId: grace!.id, message: candidate(linus!.id, 1, "to-linus") },
    ];
    const { elapsedMs } = await deliverAtOnce(m.id, deliveries);
    const toHost = await Promise.all(Array.from({ length: 5 }, (_, i) => grace!.socket.reply(`g-${i}`)));
    const acked = toHost.filter((reply) => reply.type === "ack").length;
    expect(acked).toBeLessThanOrEqual(Math.floor((elapsedMs / 1000) * 100));
    expect(toHost.filter((reply) => reply.error?.code === "RATE_LIMITED")).toHaveLength(5 - acked);
    expect((await grace!.socket.reply("to-linus")).type).toBe("ack");
    expect((await linus!.socket.next("webrtc:ice-candidate")).data.from).toBe(grace!.id);
  });

  it("counts offers and answers too, and leaves chat to the participant's own bucket", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    const offers = Array.from({ length: 260 }, (_, i) => ({
      participantId: i % 2 ? grace!.id : linus!.id,
      message: {
        type: i % 4 < 2 ? "webrtc:offer" : "webrtc:answer",
        id: i,
        data: { to: m.host.id, sdp: `v=0 ${i}` },
      },
    }));
    const chat = {
      participantId: grace!.id,
      message: { type: "chat:message", id: "chat", data: { text: "still here" } },
    };
    const { elapsedMs } = await deliverAtOnce(m.id, [...offers, chat]);
    const replies = [
      ...(await Promise.all(offers.filter((_, i) => i % 2).map((_, k) => grace!.socket.reply(2 * k + 1)))),
      ...(await Promise.all(offers.filter((_, i) => i % 2 === 0).map((_, k) => linus!.socket.reply(2 * k)))),
    ];
    const acked = replies.filter((reply) => reply.type === "ack").length;
    expect(acked).toBeGreaterThanOrEqual(200);
    expect(acked).toBeLessThanOrEqual(200 + Math.floor((elapsedMs / 1000) * 100));
    expect(replies.filter((reply) => reply.error?.code === "RATE_LIMITED")).toHaveLength(260 - acked);
    expect((await grace!.socket.reply("chat")).type).toBe("ack");
  });
});

describe("the fan-in bucket, on an explicit clock", () => {
  it("takes 200 at once, then 100 a second, never more than 200 saved up", () => {
    const limits = new FrameRateLimits();
    const allowed = (at: number, count: number) =>
      Array.from({ length: count }, () => limits.allowSignalingInto("victim", at)).filter(Boolean).length;
    expect(allowed(0, 250)).toBe(200);
    expect(allowed(500, 100)).toBe(50);
    expect(allowed(1500, 150)).toBe(100);
    expect(allowed(60_000, 300)).toBe(200);
    // Independent of the participant's own sending buckets.
    expect(limits.allow("victim", "webrtc:offer", 60_000)).toBe(true);
  });
});
