/**
 * Field rules and body handling of API.md: every bad field is a 400 with
 * the failing field named, malformed JSON is 400, a non-JSON body 415, a
 * body over 64 KiB 413, and a refused create leaves no meeting behind.
 */
import { describe, expect, it } from "vitest";
import { type ApiResponse, api, createMeeting, expectError, inMinutes, meetingWith } from "./helpers/api";
import { storedMeetingCount } from "./helpers/meeting-storage";

const DAY_MS = 86_400_000;
const validCreate = () => ({ title: "Weekly sync", hostName: "Ada", scheduledAt: inMinutes(60) });
const create = (body: unknown) => api("POST", "/api/meetings/create", { body });

/** 400 VALIDATION_FAILED naming `field` in details.fields. */
function expectFieldError(res: ApiResponse, field: string) {
  expectError(res, 400, "VALIDATION_FAILED");
  expect(Object.keys(res.body.error.details.fields)).toContain(field);
  expect(res.body.error.details.fields[field].every((m: unknown) => typeof m === "string")).toBe(true);
}

/** A create that must be refused on `field`, leaving no meeting object behind. */
async function expectCreateRefused(overrides: Record<string, unknown>, field: string) {
  const before = await storedMeetingCount();
  expectFieldError(await create({ ...validCreate(), ...overrides }), field);
  expect(await storedMeetingCount()).toBe(before);
}

/** An ISO time `years` ahead plus `days`, as calendar years (leap days included). */
function yearsAhead(years: number, days: number) {
  const at = new Date();
  at.setUTCFullYear(at.getUTCFullYear() + years);
  return new Date(at.getTime() + days * DAY_MS).toISOString();
}

describe("title, hostName, displayName", () => {
  it.each([
    ["an empty title", { title: "" }, "title"],
    ["a blank title", { title: "   " }, "title"],
    ["a 201-character title", { title: "t".repeat(201) }, "title"],
    ["a NUL in the title", { title: "Weekly\u0000sync" }, "title"],
    ["a line break inside the title", { title: "Weekly\nsync" }, "title"],
    ["an escape character in the title", { title: "\u001b[31mred" }, "title"],
    ["DEL in the title", { title: "Weekly\u007f" }, "title"],
    ["a C1 control in the title", { title: "Weekly\u0085sync" }, "title"],
    ["a numeric title", { title: 42 }, "title"],
    ["no title", { title: undefined }, "title"],
    ["an empty hostName", { hostName: " " }, "hostName"],
    ["an 81-character hostName", { hostName: "h".repeat(81) }, "hostName"],
    ["a bell in the hostName", { hostName: "Ada\u0007" }, "hostName"],
  ])("refuses %s", async (_, overrides, field) => {
    await expectCreateRefused(overrides, field);
  });

  it("counts lengths after trimming", async () => {
    const { meeting, participant } = await createMeeting({
      title: `  ${"t".repeat(200)}  `,
      hostName: ` ${"h".repeat(80)} `,
    });
    expect(meeting.title).toHaveLength(200);
    expect(participant.name).toHaveLength(80);
  });

  it("accepts letters of any script", async () => {
    const { meeting, participant } = await createMeeting({ title: "Réunion 週次 🚀", hostName: "Zoë" });
    expect(meeting.title).toBe("Réunion 週次 🚀");
    expect(participant.name).toBe("Zoë");
  });

  it("applies the same rules to displayName when joining", async () => {
    const m = await meetingWith();
    const invite = (await api("POST", `/api/meetings/${m.id}/tokens`, { token: m.hostToken, body: {} })).body.tokens[0]
      .token;
    for (const displayName of ["", "  ", "d".repeat(81), "Ev\u0000e", 7]) {
      expectFieldError(
        await api("POST", "/api/meetings/join", { body: { token: invite, displayName } }),
        "displayName",
      );
    }
    const res = await api("POST", "/api/meetings/join", {
      body: { token: invite, displayName: ` ${"d".repeat(80)} ` },
    });
    expect(res.status).toBe(200);
    expect(res.body.participant.name).toBe("d".repeat(80));
  });
});

describe("scheduledAt", () => {
  it.each([
    ["without an offset", "2030-01-01T10:00:00"],
    ["a date only", new Date(Date.now() + DAY_MS).toISOString().slice(0, 10)],
    ["not a date", "next tuesday"],
    ["an impossible date", `${new Date().getUTCFullYear() + 1}-02-30T10:00:00Z`],
    ["a number", Date.now() + DAY_MS],
    ["more than 5 minutes past", inMinutes(-6)],
    ["more than 2 years ahead", yearsAhead(2, 1)],
  ])("refuses a time %s", async (_, scheduledAt) => {
    await expectCreateRefused({ scheduledAt }, "scheduledAt");
  });

  it("accepts a time up to 5 minutes past and up to 2 years ahead", async () => {
    expect((await createMeeting({ scheduledAt: inMinutes(-4) })).meeting.status).toBe("active");
    expect((await createMeeting({ scheduledAt: yearsAhead(2, -1) })).meeting.status).toBe("active");
  });

  it("accepts Z and numeric offsets, with or without fractions of a second", async () => {
    const at = new Date(Date.now() + 2 * 3_600_000);
    at.setUTCMilliseconds(0);
    const plain = at.toISOString().replace(".000Z", "Z");
    const minus = new Date(at.getTime() - 4 * 3_600_000).toISOString().replace(".000Z", "-04:00");
    for (const scheduledAt of [plain, minus, at.toISOString()]) {
      expect((await createMeeting({ scheduledAt })).meeting.scheduledAt).toBe(at.toISOString());
    }
  });
});

describe("durationMinutes, timezone, maxParticipants", () => {
  it.each([
    ["duration 0", { durationMinutes: 0 }, "durationMinutes"],
    ["duration 1441", { durationMinutes: 1441 }, "durationMinutes"],
    ["a fractional duration", { durationMinutes: 1.5 }, "durationMinutes"],
    ["a duration as a string", { durationMinutes: "60" }, "durationMinutes"],
    ["an unknown zone", { timezone: "Mars/Olympus_Mons" }, "timezone"],
    ["an offset instead of a zone", { timezone: "+01:00" }, "timezone"],
    ["an empty zone", { timezone: "" }, "timezone"],
    ["a null zone", { timezone: null }, "timezone"],
    ["a zone name longer than any IANA name", { timezone: `Europe/${"Berlin".repeat(12)}` }, "timezone"],
    ["maxParticipants 1", { maxParticipants: 1 }, "maxParticipants"],
    ["maxParticipants 51", { maxParticipants: 51 }, "maxParticipants"],
    ["a fractional maxParticipants", { maxParticipants: 2.5 }, "maxParticipants"],
  ])("refuses %s", async (_, overrides, field) => {
    await expectCreateRefused(overrides, field);
  });

  it("accepts the duration bounds 1 and 1440", async () => {
    expect((await createMeeting({ durationMinutes: 1 })).meeting.durationMinutes).toBe(1);
    expect((await createMeeting({ durationMinutes: 1440 })).meeting.durationMinutes).toBe(1440);
  });

  it("keeps an IANA zone as named, not as the runtime's older alias for it", async () => {
    const zones = [
      "UTC",
      "Etc/UTC",
      "Asia/Kolkata",
      "Europe/Kyiv",
      "America/Argentina/Buenos_Aires",
      "America/Argentina/ComodRivadavia", // the longest IANA name: 32 characters
      "Etc/GMT+5",
    ];
    for (const zone of zones) {
      expect((await createMeeting({ timezone: zone })).meeting.timezone).toBe(zone);
    }
  });
});

describe("bodies", () => {
  it("refuses unknown fields with 400 naming them", async () => {
    await expectCreateRefused({ id: "chosen-id" }, "(root)");
    const res = await create({ ...validCreate(), isAdmin: true });
    expect(JSON.stringify(res.body.error.details)).toContain("isAdmin");
  });

  it.each([
    ["malformed JSON", "{"],
    ["a trailing comma", '{"title":"x",}'],
    ["an array", "[]"],
    ["null", "null"],
    ["a string", '"meeting"'],
  ])("refuses %s with 400", async (_, rawBody) => {
    const before = await storedMeetingCount();
    const res = await api("POST", "/api/meetings/create", { rawBody, headers: { "content-type": "application/json" } });
    expectError(res, 400, "VALIDATION_FAILED");
    expect(await storedMeetingCount()).toBe(before);
  });

  it("refuses a JSON body without content type, or with another one, with 415", async () => {
    const body = JSON.stringify(validCreate());
    for (const headers of [
      {} as Record<string, string>,
      { "content-type": "text/plain" },
      { "content-type": "application/x-www-form-urlencoded" },
      { "content-type": "multipart/form-data; boundary=x" },
    ]) {
      expectError(await api("POST", "/api/meetings/create", { rawBody: body, headers }), 415, "UNSUPPORTED_MEDIA_TYPE");
    }
  });

  it("accepts application/json with parameters and +json types", async () => {
    for (const type of ["application/json; charset=utf-8", "APPLICATION/JSON", "application/merge-patch+json"]) {
      const res = await api("POST", "/api/meetings/create", {
        rawBody: JSON.stringify(validCreate()),
        headers: { "content-type": type },
      });
      expect(res.status, type).toBe(201);
    }
  });

  it("refuses a body over 64 KiB with 413, and takes one just under", async () => {
    const before = await storedMeetingCount();
    const tooBig = JSON.stringify({ ...validCreate(), title: "x".repeat(64 * 1024) });
    const res = await api("POST", "/api/meetings/create", {
      rawBody: tooBig,
      headers: { "content-type": "application/json" },
    });
    expectError(res, 413, "PAYLOAD_TOO_LARGE");
    expect(await storedMeetingCount()).toBe(before);
    // Whitespace pads a valid body to exactly 64 KiB: within the limit.
    const valid = JSON.stringify(validCreate());
    const exact = `${valid.slice(0, -1)}${" ".repeat(64 * 1024 - valid.length)}}`;
    expect(new TextEncoder().encode(exact).byteLength).toBe(64 * 1024);
    const ok = await api("POST", "/api/meetings/create", {
      rawBody: exact,
      headers: { "content-type": "application/json" },
    });
    expect(ok.status).toBe(201);
  });

  it("refuses an oversized body on a host route too (413)", async () => {
    const m = await meetingWith();
    const res = await api("POST", `/api/meetings/${m.id}/kick`, {
      token: m.hostToken,
      body: { participantId: "x", reason: "r".repeat(70_000) },
    });
    expectError(res, 413, "PAYLOAD_TOO_LARGE");
  });
});
