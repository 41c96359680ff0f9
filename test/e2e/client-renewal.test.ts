/**
 * The SDK keeps its credentials fresh (contract 1.1): `renewToken()` on
 * demand, and by itself before a session token and the ICE credentials
 * expire, so a connection outlives its first token. The automatic case runs
 * on its own `wrangler dev` whose session tokens live 18 s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "../../scripts/lib/dev-server.mjs";
import { MeetTime } from "../../src/client";
import {
  cutTcp,
  FAST,
  inAnHour,
  meetingWithGuest,
  nextEvent,
  sdk,
  trackedWebSocket,
  until,
} from "./helpers/client-helpers";

const openAgain = { where: (s: { state: string }) => s.state === "open" };

describe("renewing the token on demand", () => {
  it("renews a session token, announces it, and reconnects with it", async () => {
    const { mt, opened } = sdk();
    const { guest, meetingId } = await meetingWithGuest(mt);
    const grace = mt.connect(meetingId, guest.sessionToken, FAST);
    await grace.ready;
    const announced = nextEvent(grace, "token");
    const renewed = await grace.renewToken();
    expect(renewed).not.toBe(guest.sessionToken);
    expect((await announced).token).toBe(renewed);
    expect(grace.token).toBe(renewed);

    const back = nextEvent(grace, "state", openAgain.where);
    cutTcp(opened[0]!);
    await back;
    expect(opened[1]!.protocols).toEqual(["meettime", renewed]);
    grace.close();
  });

  it("renews a host token through the host-token route", async () => {
    const { mt } = sdk();
    const { created, meetingId } = await meetingWithGuest(mt);
    const host = mt.connect(meetingId, created.hostToken, FAST);
    await host.ready;
    const renewed = await host.renewToken();
    expect(renewed).not.toBe(created.hostToken);
    expect((await mt.mintInvites(meetingId, renewed)).tokens).toHaveLength(1);
    host.close();
  });
});

describe("renewing before expiry", () => {
  let server: WranglerDev;

  beforeAll(async () => {
    server = await startWranglerDev({
      httpPorts: [8600, 8699],
      inspectorPorts: [9200, 9299],
      vars: {
        JWT_SECRET: `renewal-${crypto.randomUUID()}-${crypto.randomUUID()}`,
        RATE_LIMIT_MAX_REQUESTS: "1000000",
        TOKEN_EXPIRY_HOURS: "0.005", // 18 s
        LOG_LEVEL: "warn",
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("renews the session token and ICE servers by itself, so a reconnect after the first token expired succeeds", async () => {
    const tracked = trackedWebSocket();
    const mt = new MeetTime({ baseUrl: server.baseUrl, WebSocket: tracked.WebSocket });
    const created = await mt.createMeeting({ title: "Renewal", hostName: "Ada", scheduledAt: inAnHour() });
    const { tokens } = await mt.mintInvites(created.meeting.id, created.hostToken);
    const guest = await mt.join(tokens[0]!.token, "Grace");
    const firstExpiry = JSON.parse(Buffer.from(guest.sessionToken.split(".")[1]!, "base64url").toString()).exp * 1000;

    const grace = mt.connect(created.meeting.id, guest.sessionToken, {
      ...FAST,
      iceServers: guest.iceServers,
      iceServersExpiresAt: guest.iceServersExpiresAt,
    });
    const renewedToken = nextEvent(grace, "token", () => true, 30_000);
    const freshIce = nextEvent(grace, "ice-servers", () => true, 30_000);
    await grace.ready;
    const { token } = await renewedToken;
    expect(token).not.toBe(guest.sessionToken);
    const ice = await freshIce;
    expect(Date.parse(ice.iceServersExpiresAt)).toBeGreaterThan(Date.parse(guest.iceServersExpiresAt));
    expect(grace.iceServers).toEqual(ice.iceServers);

    // Once the first token is dead, only the renewed one can bring the connection back.
    await until("the first session token expired", () => Date.now() > firstExpiry + 1_000, 30_000);
    await expect(mt.getMeeting(created.meeting.id, guest.sessionToken)).rejects.toMatchObject({ status: 401 });
    const back = nextEvent(grace, "state", openAgain.where, 30_000);
    cutTcp(tracked.opened.at(-1)!);
    expect(await back).toEqual({ state: "open", resumed: true });
    expect(tracked.opened.at(-1)!.protocols).toEqual(["meettime", grace.token]);
    expect(grace.token).not.toBe(guest.sessionToken);
    grace.close();
  }, 90_000);
});
