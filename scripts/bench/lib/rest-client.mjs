/**
 * The REST calls the benchmarks make before and around what they measure:
 * JSON POSTs, a meeting to create, invites to join with. Shared by
 * create.mjs and rest-paired.mjs.
 */

/** A JSON POST, with a bearer token if given; requests give up after 60 s. */
export const jsonRequest = (body, token) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
  signal: AbortSignal.timeout(60_000),
});

/** A create body for a meeting an hour from now. */
export const createBody = (title) => ({
  title,
  hostName: "Host",
  scheduledAt: new Date(Date.now() + 3_600_000).toISOString(),
  timezone: "Europe/Berlin", // as the web app sends one
});

/** POSTs `body` and returns the answer; anything but 2xx throws with the answer in the message. */
export async function post(url, body, token) {
  const response = await fetch(url, jsonRequest(body, token));
  const answer = await response.json();
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** At most this many invites per `POST …/tokens` (the contract's bound). */
const TOKENS_PER_REQUEST = 50;

/** Join tokens for `count` joins, in new meetings of `participants` seats each. */
export async function inviteTokens(url, count, participants) {
  const tokens = [];
  while (tokens.length < count) {
    const { meeting, hostToken } = await post(`${url}/api/meetings/create`, createBody("Joins"));
    for (let left = Math.min(participants - 1, count - tokens.length); left > 0; left -= TOKENS_PER_REQUEST) {
      const minted = await post(
        `${url}/api/meetings/${meeting.id}/tokens`,
        { count: Math.min(TOKENS_PER_REQUEST, left) },
        hostToken,
      );
      tokens.push(...minted.tokens.map((t) => t.token));
    }
  }
  return tokens;
}
