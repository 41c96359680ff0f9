/**
 * Connecting: the upgrade with the token in the query or the subprotocol,
 * the `meeting:joined` greeting, and every refusal answered as a plain HTTP
 * error before any socket exists.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, createMeeting, expectError, meetingWith, mintJoinToken, ORIGIN } from "./helpers/api";
import { connect, meetingObject, TestSocket, upgrade } from "./helpers/sockets";

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** An upgrade request with a raw query string and extra headers. */
function rawUpgrade(meetingId: string, query: string, headers: Record<string, string> = {}) {
  return SELF.fetch(`${ORIGIN}/api/meetings/${meetingId}/ws?${query}`, {
    headers: { Upgrade: "websocket", ...headers },
  });
}

/** A refusal: the contract's error body and status, and no socket. */
async function expectRefusal(response: Response, status: number, code: string) {
  expect(response.webSocket).toBeNull();
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("content-type")).toContain("application/json");
  const body = JSON.parse(text);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
}

describe("upgrade", () => {
  it("greets a guest with meeting:joined: itself, the meeting and the chat so far", async () => {
    const m = await meetingWith("Grace");
    const guest = m.guests[0]!;
    const response = await upgrade(m.id, guest.sessionToken);
    expect(response.status).toBe(101);
    const socket = new TestSocket(response.webSocket!);
    response.webSocket!.accept();
    const joined = await socket.next("meeting:joined");

    expect(Object.keys(joined).sort()).toEqual(["data", "ts", "type"]);
    expect(joined.ts).toMatch(ISO_UTC);
    expect(Object.keys(joined.data).sort()).toEqual(["chat", "media", "meeting", "self"]);
    // Contract 1.2: without an SFU configured, media is peer to peer and lists no tracks.
    expect(joined.data.media).toEqual({ mode: "mesh" });
    expect(joined.data.self).toEqual({ ...guest.participant, connected: true });
    expect(joined.data.chat).toEqual([]);
    const meeting = joined.data.meeting;
    expect(meeting.id).toBe(m.id);
    expect(meeting.participantCount).toBe(2);
    expect(meeting.participants.map((p: any) => [p.name, p.role, p.connected])).toEqual([
      ["Ada", "host", false],
      ["Grace", "participant", true],
    ]);
  });

  it("tells the others with meeting:participant-joined, and the host's token connects as the host", async () => {
    const m = await meetingWith("Grace");
    const host = await connect(m.id, m.hostToken);
    expect(host.frames[0]!.data.self).toMatchObject({ id: m.host.id, role: "host", connected: true });
    const guest = await connect(m.id, m.guests[0]!.sessionToken);
    const joined = await host.next("meeting:participant-joined");
    expect(joined.data).toEqual({ participant: { ...m.guests[0]!.participant, connected: true } });
    await guest.expectNo("meeting:participant-joined");
  });

  it("takes the token as the subprotocol pair `meettime, <token>` and answers `meettime`", async () => {
    const m = await meetingWith("Grace");
    const response = await upgrade(m.id, m.guests[0]!.sessionToken, { viaSubprotocol: true });
    expect(response.status).toBe(101);
    expect(response.headers.get("sec-websocket-protocol")).toBe("meettime");
    const socket = new TestSocket(response.webSocket!);
    response.webSocket!.accept();
    expect((await socket.next("meeting:joined")).data.self.name).toBe("Grace");
  });

  it("answers `meettime` whenever the client offers it, also with the token in the query", async () => {
    const m = await meetingWith("Grace");
    const response = await rawUpgrade(m.id, `token=${m.guests[0]!.sessionToken}`, {
      "Sec-WebSocket-Protocol": "meettime",
    });
    expect(response.status).toBe(101);
    expect(response.headers.get("sec-websocket-protocol")).toBe("meettime");
    response.webSocket!.accept();
    response.webSocket!.close();
  });

  it("answers no subprotocol when the client offered none", async () => {
    const m = await meetingWith("Grace");
    const response = await upgrade(m.id, m.guests[0]!.sessionToken);
    expect(response.status).toBe(101);
    expect(response.headers.get("sec-websocket-protocol")).toBeNull();
    response.webSocket!.accept();
    response.webSocket!.close();
  });

  it("ignores internal headers a client sends itself", async () => {
    const m = await meetingWith("Grace");
    const host = await connect(m.id, m.hostToken);
    expect((await host.request({ type: "chat:message", data: { text: "welcome" } })).type).toBe("ack");
    const response = await rawUpgrade(m.id, `token=${m.guests[0]!.sessionToken}`, {
      "x-meettime-since": "not-a-number",
      "x-meettime-subprotocol": "1",
      "x-meettime-claims": JSON.stringify({ meetingId: m.id, kind: "host", tokenId: "x", participantId: m.host.id }),
    });
    expect(response.status).toBe(101);
    expect(response.headers.get("sec-websocket-protocol")).toBeNull();
    const socket = new TestSocket(response.webSocket!);
    response.webSocket!.accept();
    const joined = await socket.next("meeting:joined");
    expect(joined.data.self).toMatchObject({ name: "Grace", role: "participant" });
    expect(joined.data.chat.map((c: any) => c.text)).toEqual(["welcome"]);
  });
});

describe("refusals happen before the upgrade, as plain HTTP errors", () => {
  it("400 for a `since` that is not a non-negative integer, before the token is looked at", async () => {
    const m = await meetingWith("Grace");
    const token = m.guests[0]!.sessionToken;
    for (const since of ["-1", "1.5", "abc", "", "1e3"]) {
      await expectRefusal(await rawUpgrade(m.id, `token=${token}&since=${since}`), 400, "VALIDATION_FAILED");
    }
    await expectRefusal(await rawUpgrade(m.id, "token=garbage&since=-1"), 400, "VALIDATION_FAILED");
  });

  it("401 without a token, with a malformed or forged one, and with another meeting's token", async () => {
    const m = await meetingWith("Grace");
    const other = await createMeeting();
    await expectRefusal(await upgrade(m.id, undefined), 401, "UNAUTHORIZED");
    await expectRefusal(await upgrade(m.id, "not-a-jwt"), 401, "UNAUTHORIZED");
    const [head, body] = m.hostToken.split(".");
    await expectRefusal(await upgrade(m.id, `${head}.${body}.forgedsignature`), 401, "UNAUTHORIZED");
    await expectRefusal(await upgrade(m.id, other.hostToken), 401, "UNAUTHORIZED");
    await expectRefusal(await upgrade(m.id, other.hostToken, { viaSubprotocol: true }), 401, "UNAUTHORIZED");
    await expectRefusal(await rawUpgrade(m.id, "", { "Sec-WebSocket-Protocol": "meettime" }), 401, "UNAUTHORIZED");
  });

  it("401 rather than 426 when neither token nor upgrade is right; 426 for a good token without upgrade", async () => {
    const m = await meetingWith("Grace");
    const noUpgrade = (query: string) => api("GET", `/api/meetings/${m.id}/ws?${query}`);
    expectError(await noUpgrade("token=garbage"), 401, "UNAUTHORIZED");
    expectError(await noUpgrade(`token=${m.guests[0]!.sessionToken}`), 426, "UPGRADE_REQUIRED");
    expectError(await noUpgrade(`token=${m.hostToken}`), 426, "UPGRADE_REQUIRED");
  });

  it("403 for a session revoked by leaving or by a kick", async () => {
    const m = await meetingWith("Grace", "Linus");
    const [grace, linus] = m.guests;
    expect((await api("POST", `/api/meetings/${m.id}/leave`, { token: grace!.sessionToken })).status).toBe(200);
    const kick = await api("POST", `/api/meetings/${m.id}/kick`, {
      token: m.hostToken,
      body: { participantId: linus!.participant.id },
    });
    expect(kick.status).toBe(200);
    await expectRefusal(await upgrade(m.id, grace!.sessionToken), 403, "FORBIDDEN");
    await expectRefusal(await upgrade(m.id, linus!.sessionToken, { viaSubprotocol: true }), 403, "FORBIDDEN");
  });

  it("403 for an invite (join token): only host and session tokens open a socket", async () => {
    const created = await createMeeting();
    const invite = await mintJoinToken(created.meeting.id, created.hostToken);
    await expectRefusal(await upgrade(created.meeting.id, invite), 403, "FORBIDDEN");
  });

  it("404 for a malformed meeting id and for a meeting whose data expired", async () => {
    const created = await createMeeting();
    await expectRefusal(await upgrade("not-a-meeting-id", created.hostToken), 404, "NOT_FOUND");

    const stub = meetingObject(created.meeting.id);
    // Time passes beyond the meeting's expiry: its alarm deletes everything.
    await runInDurableObject(stub, (_room, state) => {
      state.storage.sql.exec("UPDATE meeting SET expires_at = ?", Date.now() - 1);
    });
    await evictDurableObject(stub);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await expectRefusal(await upgrade(created.meeting.id, created.hostToken), 404, "NOT_FOUND");
  });

  it("410 once the meeting was terminated, for the host and for guests", async () => {
    const m = await meetingWith("Grace");
    expect((await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken })).status).toBe(200);
    await expectRefusal(await upgrade(m.id, m.hostToken), 410, "MEETING_ENDED");
    await expectRefusal(await upgrade(m.id, m.guests[0]!.sessionToken, { viaSubprotocol: true }), 410, "MEETING_ENDED");
  });
});
