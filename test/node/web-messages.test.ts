/**
 * What the app says when a meeting page closes and when an invite link
 * cannot work (src/web/messages.ts): no repeated kick sentence, the host
 * who ended the meeting reads that they did, a cut-off link is "broken"
 * (not "the meeting is gone"), and a refused invite says used or expired.
 */
import { describe, expect, it } from "vitest";
import { signToken } from "../../src/auth/tokens";
import { MeetTimeError } from "../../src/client/errors";
import { closedMessage, describeInviteRefusal, inviteLinkIsBroken } from "../../src/web/messages";

const closed = (reason: "kicked" | "ended" | "terminated" | "forbidden") => ({ state: "closed" as const, reason });

const meetingId = "a".repeat(64);
const token = (kind: "join" | "session", expiresAt = Date.now() + 3_600_000) =>
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
