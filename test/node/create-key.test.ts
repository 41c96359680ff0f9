/**
 * The create key on the client side (contract 1.2, "Who may create
 * meetings"): the SDK sends it as a bearer on create only, and the app keeps
 * a key for the page, on the device only when asked, and never a refused one.
 */
import { describe, expect, it } from "vitest";
import { MeetTimeError } from "../../src/client/errors";
import { MeetTime } from "../../src/client/meettime";
import { CREATE_KEY_STORAGE, CreateKeyMemory, createKeyRefusal } from "../../src/web/create-key";
import { json } from "./helpers/sdk-fakes";

const KEY = "sdk-create-key-0123456789abcdefghijkl";
const INPUT = { title: "Sync", hostName: "Ada", scheduledAt: new Date("2030-01-01T10:00:00Z") };

/** A client whose server wants `KEY` on create; `authorizations` records what each request carried. */
function clientOfRestrictedServer(options: { createKey?: string } = {}) {
  const authorizations: (string | null)[] = [];
  const mt = new MeetTime({
    baseUrl: "http://meettime.test",
    ...options,
    fetch: async (_input, init) => {
      const authorization = new Headers(init?.headers).get("authorization");
      authorizations.push(authorization);
      return authorization === `Bearer ${KEY}`
        ? json({ meeting: { id: "m1" }, hostToken: "host" }, 201)
        : json({ error: { code: "UNAUTHORIZED", message: "creating a meeting needs a create key" } }, 401);
    },
  });
  return { mt, authorizations };
}

describe("SDK createMeeting", () => {
  it("sends the create key as a bearer, per call or from the client's options", async () => {
    const perCall = clientOfRestrictedServer();
    await expect(perCall.mt.createMeeting(INPUT, { createKey: KEY })).resolves.toMatchObject({ hostToken: "host" });
    const fromOptions = clientOfRestrictedServer({ createKey: KEY });
    await expect(fromOptions.mt.createMeeting(INPUT)).resolves.toMatchObject({ hostToken: "host" });
    expect([...perCall.authorizations, ...fromOptions.authorizations]).toEqual([`Bearer ${KEY}`, `Bearer ${KEY}`]);
  });

  it("rejects with UNAUTHORIZED without a key, and sends no Authorization then", async () => {
    const { mt, authorizations } = clientOfRestrictedServer();
    const refusal = await mt.createMeeting(INPUT).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(MeetTimeError);
    expect((refusal as MeetTimeError).code).toBe("UNAUTHORIZED");
    expect(authorizations).toEqual([null]);
  });
});

/** A `localStorage` stand-in. */
function memoryStorage() {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

describe("the app's create key", () => {
  it("is kept for the page only, unless 'remember on this device' is ticked", () => {
    const storage = memoryStorage();
    const page = new CreateKeyMemory(storage);
    page.keep(KEY, false);
    expect(page.current()).toBe(KEY);
    expect(storage.items.size).toBe(0);
    expect(new CreateKeyMemory(storage).current()).toBeUndefined();

    page.keep(KEY, true);
    expect(storage.items.get(CREATE_KEY_STORAGE)).toBe(KEY);
    expect(new CreateKeyMemory(storage).current()).toBe(KEY);
  });

  it("leaves the device when a later key is kept without ticking, or when the server refuses it", () => {
    const storage = memoryStorage();
    new CreateKeyMemory(storage).keep(KEY, true);
    const next = new CreateKeyMemory(storage);
    next.keep("another-key-0123456789abcdefghijklmnop", false);
    expect(storage.items.has(CREATE_KEY_STORAGE)).toBe(false);

    new CreateKeyMemory(storage).keep(KEY, true);
    const refused = new CreateKeyMemory(storage);
    refused.forget();
    expect(refused.current()).toBeUndefined();
    expect(storage.items.has(CREATE_KEY_STORAGE)).toBe(false);
  });

  it("works without storage, and with storage that throws", () => {
    const throwing = {
      getItem: () => {
        throw new Error("SecurityError");
      },
      setItem: () => {
        throw new Error("QuotaExceededError");
      },
      removeItem: () => {
        throw new Error("SecurityError");
      },
    };
    for (const storage of [undefined, throwing]) {
      const memory = new CreateKeyMemory(storage);
      expect(memory.current()).toBeUndefined();
      memory.keep(KEY, true);
      expect(memory.current()).toBe(KEY);
      memory.forget();
      expect(memory.current()).toBeUndefined();
    }
  });

  it("tells a missing key from a refused one", () => {
    expect(createKeyRefusal(false)).toContain("Enter the key");
    expect(createKeyRefusal(true)).toContain("not accepted");
  });
});
