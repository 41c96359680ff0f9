/**
 * Bounded storage per meeting (contract 1.1): at most 1,000 outstanding
 * invites (`409 INVITE_LIMIT`, and a mint that would exceed it mints none);
 * the alarm, and every successful mint, delete spent rows (expired join
 * tokens, participants removed longer ago than a session token lives) and
 * keep what refusals need; the host's stats report what is stored.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, createMeeting, expectError, meetingWith, mintJoinToken, mintJoinTokens } from "./helpers/api";
import { expectRejected } from "./helpers/meeting-storage";
import { meetingObject } from "./helpers/sockets";

const HOUR = 3_600_000;

/** Adds `count` unredeemed invites straight to storage (signing 1,000 tokens through REST is slow and beside the point). */
async function storeInvites(meetingId: string, count: number, expiresAt = Date.now() + HOUR) {
  await runInDurableObject(meetingObject(meetingId), (_room, state) => {
    for (let i = 0; i < count; i++) {
      state.storage.sql.exec(
        "INSERT INTO join_token (id, name, expires_at) VALUES (?, NULL, ?)",
        crypto.randomUUID(),
        expiresAt,
      );
    }
  });
}

async function rows(meetingId: string) {
  return runInDurableObject(meetingObject(meetingId), (_room, state) => ({
    tokens: state.storage.sql.exec("SELECT COUNT(*) AS n FROM join_token").one().n as number,
    participants: state.storage.sql
      .exec("SELECT name FROM participant ORDER BY rowid")
      .toArray()
      .map((r) => r.name),
  }));
}

const mint = (meetingId: string, hostToken: string, body: Record<string, unknown>) =>
  api("POST", `/api/meetings/${meetingId}/tokens`, { token: hostToken, body });

describe("outstanding invites", () => {
  it("are capped at 1,000: a mint beyond that is 409 INVITE_LIMIT and mints none", async () => {
    const { meeting, hostToken } = await createMeeting();
    await storeInvites(meeting.id, 990);
    expect(await mintJoinTokens(meeting.id, hostToken, { count: 10 })).toHaveLength(10);
    const refused = await expectRejected(meeting.id, () => mint(meeting.id, hostToken, {}), 409, "INVITE_LIMIT");
    expect(refused.body.error.message).toMatch(/1000|1,000/);
  });

  it("refuse a batch that would cross the cap as a whole, not in part", async () => {
    const { meeting, hostToken } = await createMeeting();
    await storeInvites(meeting.id, 960);
    await expectRejected(meeting.id, () => mint(meeting.id, hostToken, { count: 50 }), 409, "INVITE_LIMIT");
    expect(await mintJoinTokens(meeting.id, hostToken, { count: 40 })).toHaveLength(40);
  });

  it("do not count redeemed or expired invites", async () => {
    const m = await meetingWith("Grace");
    await storeInvites(m.id, 998);
    await storeInvites(m.id, 500, Date.now() - 10 * 60_000);
    // Grace's redeemed invite does not count either: 998 outstanding leave room for 2.
    expect(await mintJoinTokens(m.id, m.hostToken, { count: 2 })).toHaveLength(2);
    expectError(await mint(m.id, m.hostToken, {}), 409, "INVITE_LIMIT");
  });
});

describe("spent rows", () => {
  it("are deleted by the alarm, keeping what refusals still need", async () => {
    const m = await meetingWith("Grace", "Linus", "Ken");
    const [grace, linus, ken] = m.guests;
    const graceInvite = await mintJoinToken(m.id, m.hostToken);
    await api("POST", "/api/meetings/join", { body: { token: graceInvite, displayName: "Grace again" } });
    // Expired longer ago than the few minutes' grace kept for clocks that disagree.
    await storeInvites(m.id, 30, Date.now() - 10 * 60_000);
    await storeInvites(m.id, 5);
    expect((await api("POST", `/api/meetings/${m.id}/leave`, { token: linus!.sessionToken })).status).toBe(200);
    expect((await api("POST", `/api/meetings/${m.id}/leave`, { token: ken!.sessionToken })).status).toBe(200);
    // Ken left longer ago than any session token lives (TOKEN_EXPIRY_HOURS, 24 by default).
    await runInDurableObject(meetingObject(m.id), (_room, state) => {
      state.storage.sql.exec(
        "UPDATE participant SET removed_at = ? WHERE id = ?",
        Date.now() - 25 * HOUR,
        ken!.participant.id,
      );
    });
    const before = await rows(m.id);
    expect(before.tokens).toBe(3 + 1 + 30 + 5);

    expect(await runDurableObjectAlarm(meetingObject(m.id))).toBe(true);

    const after = await rows(m.id);
    // The 30 expired invites went; redeemed but unexpired invites stay (a second redemption must be 409).
    expect(after.tokens).toBe(3 + 1 + 5);
    expect(after.participants).toEqual(["Ada", "Grace", "Linus", "Grace again"]);
    const again = await api("POST", "/api/meetings/join", { body: { token: graceInvite, displayName: "Grace 3" } });
    expectError(again, 409, "TOKEN_ALREADY_USED");
    // Linus left just now: his session token is still refused as revoked.
    expectError(await api("GET", `/api/meetings/${m.id}`, { token: linus!.sessionToken }), 403, "FORBIDDEN");
    expect((await api("GET", `/api/meetings/${m.id}`, { token: grace!.sessionToken })).status).toBe(200);
  });

  it("are also cleared by a successful mint, in the same write", async () => {
    const { meeting, hostToken } = await createMeeting();
    await storeInvites(meeting.id, 40, Date.now() - 10 * 60_000);
    await mintJoinTokens(meeting.id, hostToken, { count: 3 });
    expect((await rows(meeting.id)).tokens).toBe(3);
  });
});

describe("stats", () => {
  it("report stored rows and outstanding invites next to the database size", async () => {
    const m = await meetingWith("Grace");
    await mintJoinTokens(m.id, m.hostToken, { count: 4 });
    await api("POST", `/api/meetings/${m.id}/leave`, { token: m.guests[0]!.sessionToken });
    const res = await api("GET", `/api/meetings/${m.id}/stats`, { token: m.hostToken });
    expect(res.status).toBe(200);
    expect(res.body.stats).toMatchObject({
      participantCount: 1,
      participantsStored: 2,
      joinTokensStored: 5,
      outstandingInvites: 4,
    });
    expect(res.body.stats.storageBytes).toBeGreaterThan(0);
  });
});
