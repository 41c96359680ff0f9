/**
 * The sample coturn configuration in docs/operations.md keeps a relay from
 * reaching its own network: a coturn started with that block's peer rules
 * refuses (403) permissions to private, shared, loopback, link-local
 * (cloud metadata) and multicast IPv4 peers, and still grants a public
 * one. The same coturn without those lines grants the private ones, so
 * it is the documented lines that refuse them. Skips without coturn, unless
 * MEETTIME_REQUIRE_TURN=1 (CI).
 */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { TurnClient, TurnError } from "./helpers/turn-client";
import { startTurnServer, TURN_REQUIRED, type TurnServer, turnServerInstalled } from "./helpers/turn-server";

const installed = turnServerInstalled();
if (!installed && TURN_REQUIRED) throw new Error("turnserver (Debian package coturn) is required here");

/** The peer rules of the documented `turnserver.conf`, as coturn command-line options. */
function documentedPeerRules(): string[] {
  const docs = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8");
  const block = docs.split("The matching `turnserver.conf`:")[1]?.split("```")[1];
  if (!block) throw new Error("docs/operations.md has no turnserver.conf block");
  return block
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => /^(denied-peer-ip=|no-multicast-peers$)/.test(line))
    .map((line) => `--${line}`);
}

const PRIVATE_PEERS = [
  "10.1.2.3",
  "172.16.0.1",
  "172.31.255.254",
  "192.168.1.1",
  "100.64.0.1",
  "169.254.169.254",
  "127.0.0.1",
  "224.0.0.1",
];
/** TEST-NET-2: public in form, never routed; a permission sends nothing. */
const PUBLIC_PEER = "198.51.100.7";

const running: TurnServer[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.stop();
});

/** Allocates a relay on `server` with a valid credential and asks for a permission to `host`. */
async function permissionTo(server: TurnServer, host: string): Promise<number> {
  const client = await TurnClient.open({ host: server.host, port: server.port });
  try {
    const username = `${Math.floor(Date.now() / 1000) + 600}:peer-rules`;
    await client.allocate(username, createHmac("sha1", server.secret).update(username).digest("base64"));
    await client.createPermission({ host, port: 9 });
    return 200;
  } catch (error) {
    if (error instanceof TurnError) return error.code ?? -1;
    throw error;
  } finally {
    client.close();
  }
}

describe.skipIf(!installed)("the documented coturn peer rules", () => {
  it("refuse private, loopback, link-local and multicast peers, and grant a public one", async () => {
    const rules = documentedPeerRules();
    expect(rules).toContain("--no-multicast-peers");
    const server = await startTurnServer({ allowLoopbackPeers: false, extraArgs: rules, ports: [34880, 34979] });
    running.push(server);
    for (const peer of PRIVATE_PEERS) expect(await permissionTo(server, peer), peer).toBe(403);
    expect(await permissionTo(server, PUBLIC_PEER)).toBe(200);
  });

  it("are what refuses them: without those lines coturn grants the private ranges", async () => {
    const server = await startTurnServer({ allowLoopbackPeers: false, ports: [34880, 34979] });
    running.push(server);
    for (const peer of ["10.1.2.3", "192.168.1.1", "169.254.169.254"]) {
      expect(await permissionTo(server, peer), peer).toBe(200);
    }
  });
});
