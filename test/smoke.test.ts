import { describe, expect, it } from "vitest";
import { api, meetingWith } from "./helpers/api";
import { connect } from "./helpers/sockets";

describe("smoke", () => {
  it("creates, joins and chats", async () => {
    const m = await meetingWith("Grace");
    const res = await api("GET", `/api/meetings/${m.id}`, { token: m.hostToken });
    expect(res.status).toBe(200);
    const host = await connect(m.id, m.hostToken);
    const guest = await connect(m.id, m.guests[0]!.sessionToken);
    await host.next("meeting:participant-joined");
    guest.send({ type: "chat:message", data: { text: "hi" }, id: "c1" });
    const msg = await host.next("chat:new-message");
    expect(msg.data.text).toBe("hi");
    expect((await guest.reply("c1")).type).toBe("ack");
  });
});
