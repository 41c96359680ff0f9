/**
 * Names (title, hostName, displayName) refuse invisible formatting
 * characters that can make them read as something else: bidi embeddings,
 * overrides, isolates and marks, zero-width spaces and joiners that join
 * nothing. Joiners inside emoji sequences and between letters (Persian ZWNJ)
 * stay allowed; chat text, free text, keeps them all.
 */
import { describe, expect, it } from "vitest";
import { DisplayName, Title } from "../src/protocol/schemas";
import { api, createMeeting, expectError, inMinutes, mintJoinToken } from "./helpers/api";
import { liveMeeting } from "./helpers/sockets";

const REFUSED: [string, string][] = [
  ["right-to-left override", "Ada\u202egnp.exe"],
  ["left-to-right embedding", "\u202aAda"],
  ["pop directional formatting", "Ada\u202c"],
  ["first strong isolate", "Ada \u2068Lovelace\u2069"],
  ["right-to-left isolate", "\u2067Ada"],
  ["right-to-left mark", "Ada\u200f"],
  ["left-to-right mark", "\u200eAda"],
  ["arabic letter mark", "Ada\u061c"],
  ["zero-width space", "Ad\u200ba"],
  ["word joiner", "Ada\u2060Lovelace"],
  ["byte order mark inside", "Ada\ufeffLovelace"],
  ["zero-width joiner at the end", "Ada\u200d"],
  ["zero-width non-joiner next to a space", "Ada \u200cLovelace"],
  ["two joiners in a row", "Ada\u200d\u200dLovelace"],
  ["a joiner alone", "\u200d"],
];

const ACCEPTED: [string, string][] = [
  ["emoji ZWJ sequence", "👩‍💻 Ada"],
  ["emoji with skin tone in a sequence", "👩🏽‍💻"],
  ["heart on fire (variation selector before the joiner)", "❤️‍🔥 team"],
  ["Persian name with ZWNJ", "نرگس‌ها"],
  ["Hindi with ZWJ", "क्‍ष"],
  ["plain right-to-left text", "שלום עליכם"],
];

describe("names", () => {
  it.each(REFUSED)("refuse a %s", (_label, name) => {
    expect(DisplayName.safeParse(name).success).toBe(false);
    expect(Title.safeParse(name).success).toBe(false);
  });

  it.each(ACCEPTED)("accept a %s", (_label, name) => {
    expect(DisplayName.safeParse(name).success).toBe(true);
  });

  it("are refused over REST with 400 VALIDATION_FAILED naming the field", async () => {
    for (const field of ["title", "hostName"]) {
      const res = await api("POST", "/api/meetings/create", {
        body: { title: "Weekly sync", hostName: "Ada", scheduledAt: inMinutes(60), [field]: "Ada\u202egnp.exe" },
      });
      expectError(res, 400, "VALIDATION_FAILED");
      expect(res.body.error.details.fields).toHaveProperty([field]);
    }
    const { meeting, hostToken } = await createMeeting();
    const token = await mintJoinToken(meeting.id, hostToken);
    const refused = await api("POST", "/api/meetings/join", { body: { token, displayName: "Gr\u200bace" } });
    expectError(refused, 400, "VALIDATION_FAILED");
    const joined = await api("POST", "/api/meetings/join", { body: { token, displayName: "👩‍💻 Grace" } });
    expect(joined.status).toBe(200);
    expect(joined.body.participant.name).toBe("👩‍💻 Grace");
  });
});

describe("chat text", () => {
  it("keeps bidi controls and joiners: it is free text, which clients show isolated", async () => {
    const m = await liveMeeting("Grace");
    const text = "\u2067مرحبا\u2069 see \u202efdp.exe\u202c";
    expect((await m.guests[0]!.socket.request({ type: "chat:message", data: { text } })).type).toBe("ack");
    expect((await m.host.socket.next("chat:new-message")).data.text).toBe(text);
  });
});
