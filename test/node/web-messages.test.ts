/**
 * What the app says when a meeting page closes and when an invite link
 * cannot work (src/web/messages.ts): no repeated kick sentence, the host
 * who ended the meeting reads that they did, a cut-off link is "broken"
 * (not "the meeting is gone"), and a refused invite says used or expired.
 * A meeting link (contract 1.2) says revoked, used up or expired, and a wait
 * in the lobby that ends says why, and whether asking again can help.
 */
import { describe, expect, it } from "vitest";
import { signToken } from "../../src/auth/tokens";
import { MeetTimeError } from "../../src/client/errors";
import { closedMessage, describeInviteRefusal, describeLobbyEnd, inviteLinkIsBroken } from "../../src/web/messages";

const closed = (reason: "kicked" | "ended" | "terminated" | "forbidden") => ({ state: "closed" as const, reason });

const meetingId = "a".repeat(64);
const token = (kind: "join" | "session" | "link", expiresAt = Date.now() + 3_600_000) =>
  signToken("test-secret-that-is-at-least-32-bytes-long!!", { meetingId, kind, tokenId: "t1", expiresAt });
const invite = await token("join");

describe("closedMessage", () => {
  it("says a kick once, with the host's reason only when the host gave one", () => {
    expect(closedMessage(closed("kicked"), "participant", "removed by the host").text).toBe(
      "The host removed you from the meeting.",
    );
    expect(closedMessage(closed("kicked"), "participant").text).toBe("The host removed you from the meeting.");
    expect(closedMessage(closed("kicked"), "participant", "Off topic").text).toBe(
      "The host removed you from the meeting. Reason: Off topic",
    );
  });

  it("tells the host who ended the meeting that they did", () => {
    for (const reason of ["ended", "terminated"] as const) {
      expect(closedMessage(closed(reason), "host").text).toBe("You ended the meeting.");
      expect(closedMessage(closed(reason), "participant").text).toBe("The host ended the meeting.");
    }
  });
});

describe("invite links", () => {
  it("calls a cut-off, mangled or wrong-kind link broken", async () => {
    expect(inviteLinkIsBroken(invite)).toBe(false);
    expect(inviteLinkIsBroken("not-a-token")).toBe(true);
    expect(inviteLinkIsBroken(invite.slice(0, -5))).toBe(true);
    expect(inviteLinkIsBroken(invite.replace(".", ".%20"))).toBe(true);
    expect(inviteLinkIsBroken(await token("session"))).toBe(true);
    const [header, , signature] = invite.split(".");
    const noMeeting = Buffer.from(JSON.stringify({ kind: "join" })).toString("base64url");
    expect(inviteLinkIsBroken(`${header}.${noMeeting}.${signature}`)).toBe(true);
  });

  it("tells a used invite from an expired one, and leaves other refusals to their code", async () => {
    const unauthorized = new MeetTimeError("UNAUTHORIZED", "invalid token", 401);
    expect(describeInviteRefusal(unauthorized, invite)).toMatch(/^This invite link has already been used/);
    const expired = await token("join", Date.now() - 60_000);
    expect(describeInviteRefusal(unauthorized, expired)).toBe(
      "This invite link has expired. Ask the host for a new one.",
    );
    const gone = new MeetTimeError("NOT_FOUND", "meeting not found", 404);
    expect(describeInviteRefusal(gone, invite)).toBe("This meeting does not exist any more.");
  });
});

describe("meeting links and the lobby", () => {
  it("reads a meeting link as a link, and says revoked, used up or expired", async () => {
    const link = await token("link");
    expect(inviteLinkIsBroken(link)).toBe(false);
    expect(describeInviteRefusal(new MeetTimeError("FORBIDDEN", "revoked", 403), link)).toBe(
      "The host has turned this meeting link off. Ask the host for a new link.",
    );
    expect(describeInviteRefusal(new MeetTimeError("LINK_EXHAUSTED", "used up", 409), link)).toMatch(
      /^This meeting link has let in as many people as the host allowed/,
    );
    const expired = await token("link", Date.now() - 60_000);
    const unauthorized = new MeetTimeError("UNAUTHORIZED", "invalid token", 401);
    expect(describeInviteRefusal(unauthorized, expired)).toBe(
      "This meeting link has expired. Ask the host for a new one.",
    );
    // Never "already used": a meeting link is not spent by a join.
    expect(describeInviteRefusal(unauthorized, link)).not.toMatch(/already been used/);
  });

  it("says why a wait ended, with the host's own reason, and offers to ask again only where it helps", () => {
    const denied = (reason: string) => describeLobbyEnd(new MeetTimeError("LOBBY_DENIED", "denied", 0, { reason }));
    expect(denied("the host did not let you in")).toEqual({
      heading: "You were not let in",
      text: "The host did not let you in.",
      canAskAgain: false,
    });
    expect(denied("Team members only").text).toBe("The host did not let you in. Reason: Team members only");
    expect(denied("the meeting link was revoked").heading).toBe("This meeting link was turned off");
    expect(denied("the meeting has ended").text).toBe("The host ended the meeting.");
    expect(describeLobbyEnd(MeetTimeError.client("CLOSED", "stopped")).canAskAgain).toBe(true);
    const lapsed = new MeetTimeError("LOBBY_WAIT_ENDED", "gone", 0, { why: "expired" });
    expect(describeLobbyEnd(lapsed)).toMatchObject({ heading: "You are no longer waiting", canAskAgain: true });
    const elsewhere = new MeetTimeError("LOBBY_WAIT_ENDED", "replaced", 0, { why: "replaced" });
    expect(describeLobbyEnd(elsewhere).canAskAgain).toBe(false);
  });
});
