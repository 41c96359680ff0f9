/**
 * WebRTC signaling: offers, answers and ICE candidates go only to the
 * participant named in `to`, stamped with `from`; nobody else sees them,
 * and a `to` that names nobody connected is NOT_FOUND.
 */
import { describe, expect, it } from "vitest";
import { api } from "./helpers/api";
import { liveMeeting } from "./helpers/sockets";

const SDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

describe("signaling", () => {
  it("delivers an offer and its answer only to `to`, with `from` added", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;

    const sent = await grace!.socket.request({ type: "webrtc:offer", data: { to: linus!.id, sdp: SDP } });
    expect(sent.type).toBe("ack");
    const offer = await linus!.socket.next("webrtc:offer");
    expect(offer.data).toEqual({ from: grace!.id, sdp: SDP });

    linus!.socket.send({ type: "webrtc:answer", data: { to: grace!.id, sdp: "answer-sdp" } });
    expect((await grace!.socket.next("webrtc:answer")).data).toEqual({ from: linus!.id, sdp: "answer-sdp" });

    // The third party, and the senders themselves, saw none of it.
    await m.host.socket.expectSilence();
    expect(grace!.socket.count("webrtc:offer")).toBe(0);
    expect(linus!.socket.count("webrtc:answer")).toBe(0);
  });

  it("relays ICE candidates as given, nulls included, in the order they were sent", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    const candidates = [
      { candidate: "candidate:1 1 udp 2122260223 10.0.0.1 54400 typ host", sdpMid: "0", sdpMLineIndex: 0 },
      { candidate: "candidate:2 1 tcp 1518280447 10.0.0.1 9 typ host", sdpMid: null, sdpMLineIndex: null },
      { candidate: "", usernameFragment: "abcd" },
    ];
    for (const candidate of candidates) {
      grace!.socket.send({ type: "webrtc:ice-candidate", data: { to: m.host.id, candidate } });
    }
    const received = await m.host.socket.all("webrtc:ice-candidate", 3);
    expect(received.map((f) => f.data)).toEqual(candidates.map((candidate) => ({ from: grace!.id, candidate })));
    await linus!.socket.expectSilence();
  });

  it("lets the host and guests signal each other in both directions", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    m.host.socket.send({ type: "webrtc:offer", data: { to: grace.id, sdp: "from-host" } });
    expect((await grace.socket.next("webrtc:offer")).data).toEqual({ from: m.host.id, sdp: "from-host" });
    grace.socket.send({ type: "webrtc:answer", data: { to: m.host.id, sdp: "from-grace" } });
    expect((await m.host.socket.next("webrtc:answer")).data).toEqual({ from: grace.id, sdp: "from-grace" });
  });

  it("answers NOT_FOUND for a `to` that is unknown, not connected, or gone", async () => {
    const m = await liveMeeting("Grace", "Linus", "Mary");
    const [grace, linus, mary] = m.guests;
    const offerTo = (to: string) => grace!.socket.request({ type: "webrtc:offer", data: { to, sdp: SDP } });

    expect((await offerTo("no-such-participant")).error?.code).toBe("NOT_FOUND");

    linus!.socket.close();
    await grace!.socket.next("meeting:participant-left");
    expect((await offerTo(linus!.id)).error?.code).toBe("NOT_FOUND");

    const kick = await api("POST", `/api/meetings/${m.id}/kick`, {
      token: m.hostToken,
      body: { participantId: mary!.id },
    });
    expect(kick.status).toBe(200);
    expect((await offerTo(mary!.id)).error?.code).toBe("NOT_FOUND");

    // A NOT_FOUND without an id still gets its error frame.
    grace!.socket.send({ type: "webrtc:ice-candidate", data: { to: "nobody", candidate: { candidate: "" } } });
    const error = await grace!.socket.nextWhere("error", (f) => f.id === undefined);
    expect(error.error?.code).toBe("NOT_FOUND");
    await m.host.socket.expectNo("webrtc:offer");
  });

  it("refuses malformed signaling with VALIDATION_FAILED and relays nothing", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    const bad = [
      { type: "webrtc:offer", data: { to: m.host.id } },
      { type: "webrtc:offer", data: { to: m.host.id, sdp: 42 } },
      { type: "webrtc:answer", data: { sdp: "x" } },
      { type: "webrtc:ice-candidate", data: { to: m.host.id, candidate: "candidate:1" } },
      { type: "webrtc:ice-candidate", data: { to: m.host.id, candidate: { sdpMid: "0" } } },
      { type: "webrtc:ice-candidate", data: { to: m.host.id, candidate: { candidate: "", sdpMLineIndex: -1 } } },
    ];
    for (const frame of bad) {
      expect((await grace.socket.request(frame)).error?.code, JSON.stringify(frame)).toBe("VALIDATION_FAILED");
    }
    await m.host.socket.expectSilence();
  });
});
