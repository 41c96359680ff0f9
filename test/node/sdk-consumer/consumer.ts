/**
 * A TypeScript project using the SDK as a user would (`meettime/client`),
 * compiled by sdk-consumer.test.ts under `bundler` and `nodenext`
 * resolution: it must compile, and its handlers' parameters must be typed
 * (each `@ts-expect-error` below fails to compile if they fall back to `any`).
 */
import { type LobbyTicket, MeetTime, MeetTimeError, type StateChange } from "meettime/client";

const mt = new MeetTime({ baseUrl: "http://127.0.0.1:8787" });

export async function chat(meetingId: string, sessionToken: string): Promise<number[]> {
  const conn = mt.connect(meetingId, sessionToken, { queueLimit: 10, connectTimeoutMs: 5_000 });
  const seqs: number[] = [];
  conn.on("chat:new-message", (message) => {
    seqs.push(message.seq);
    // @ts-expect-error: a chat message's text is a string
    const wrong: number = message.text;
    void wrong;
  });
  conn.on("state", (change: StateChange) => {
    if (change.state === "closed") console.log(change.reason);
  });
  conn.on("error", (error) => {
    if (error.code === "MALFORMED_FRAME") console.warn(error.details);
  });
  const joined = await conn.ready;
  // @ts-expect-error: a participant has no `nickname`
  console.log(joined.self.nickname);
  try {
    await conn.sendChat("hi");
  } catch (error) {
    if (error instanceof MeetTimeError) console.log(error.code, error.status);
  }
  return seqs;
}

/** Contract 1.2: a guest's wait in the lobby (resumable from its ticket) and a host answering knocks. */
export async function lobby(linkToken: string, hostConn: ReturnType<MeetTime["connect"]>): Promise<string> {
  let ticket: LobbyTicket | undefined;
  hostConn.on("lobby:knock", (knock) => {
    // @ts-expect-error: a knock's name is a string
    const wrong: number = knock.name;
    void wrong;
    void hostConn.admit(knock.requestId);
  });
  console.log(hostConn.lobby.map((entry) => entry.requestId));
  try {
    const joined = await mt.join(linkToken, "Grace", { onWaiting: (waiting) => (ticket = waiting) });
    return joined.sessionToken;
  } catch (error) {
    if (error instanceof MeetTimeError && error.code === "LOBBY_DENIED") console.log(error.details?.reason);
    if (ticket) return (await mt.waitInLobby(ticket)).sessionToken;
    throw error;
  }
}
