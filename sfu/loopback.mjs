// @ts-check
/**
 * Keeps the local SFU's media on this machine: the werift configuration
 * that gathers on 127.0.0.1 only and accepts only peers on this machine,
 * the SDP filter that drops every other candidate a browser offers, and a
 * guard on the UDP sockets that refuses any datagram addressed elsewhere
 * (werift answers some STUN requests, such as ICE role conflicts, before
 * its own filters run).
 *
 * "On this machine" is loopback or one of the machine's own interface
 * addresses. A stock browser never offers 127.0.0.1: it sends its checks
 * to the SFU's 127.0.0.1 from a socket on its own LAN address, and the
 * kernel delivers the SFU's answer to that address through the loopback
 * device, so the datagram never reaches a network.
 */
import { networkInterfaces } from "node:os";
import { useOPUS, usePLI, useREMB, useVP8 } from "werift";

export const LOOPBACK_ADDRESS = "127.0.0.1";

/**
 * Whether `address` is an IPv4 or IPv6 loopback address.
 * @param {string | undefined} address
 * @returns {boolean}
 */
export function isLoopbackAddress(address) {
  return typeof address === "string" && (address.startsWith("127.") || address === "::1");
}

/** This machine's own addresses, read again at most once a second when an address is not among them (a laptop changes networks). */
let ownAddresses = new Set();
let ownAddressesReadAt = Number.NEGATIVE_INFINITY;

/**
 * Whether `address` belongs to this machine: loopback, or an address of one
 * of its interfaces (a datagram to it is delivered locally, never sent out).
 * The local SFU answers such peers when started with `peers: "machine"`.
 * @param {string | undefined} address
 * @returns {boolean}
 */
export function isOnThisMachine(address) {
  if (typeof address !== "string") return false;
  if (isLoopbackAddress(address) || ownAddresses.has(address)) return true;
  if (Date.now() - ownAddressesReadAt < 1000) return false;
  ownAddressesReadAt = Date.now();
  ownAddresses = new Set(
    Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address)),
  );
  return ownAddresses.has(address);
}

/**
 * Which peers the local SFU answers: `"loopback"` (127.0.0.1 only: a
 * browser started with scripts/lib/chromium.mjs's CHROMIUM_LOOPBACK_FLAGS, werift test clients) or
 * `"machine"` (also a stock browser, from this machine's own addresses).
 * @typedef {"loopback" | "machine"} PeerScope
 */

/**
 * The address test for a scope.
 * @param {PeerScope} scope
 * @returns {(address: string | undefined) => boolean}
 */
function peerAddressTest(scope) {
  return scope === "machine" ? isOnThisMachine : isLoopbackAddress;
}

/**
 * The werift peer configuration for anything that must stay on this
 * machine: ICE lite (so werift never asks a public STUN server), host
 * candidates on 127.0.0.1 only, pairs and STUN answers only with the peers
 * `scope` allows, one bundled transport, VP8 and Opus.
 * @param {{ iceLite?: boolean, scope?: PeerScope }} [options] iceLite defaults to true (the SFU);
 *   test clients pass false. scope defaults to "loopback".
 * @returns {Partial<import("werift").PeerConfig>}
 */
export function loopbackPeerConfig({ iceLite = true, scope = "loopback" } = {}) {
  const allowsPeer = peerAddressTest(scope);
  return {
    iceLite,
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [LOOPBACK_ADDRESS],
    iceInterfaceAddresses: { udp4: LOOPBACK_ADDRESS },
    iceFilterCandidatePair: (pair) => allowsPeer(pair.remoteCandidate.host),
    iceFilterStunResponse: (_message, address) => allowsPeer(address[0]),
    bundlePolicy: "max-bundle",
    // No `nack`: this SFU keeps no packets to send again, so a NACK would go unanswered and the
    // receiver would wait seconds before asking for a keyframe; without it, a loss brings a PLI at once.
    codecs: { audio: [useOPUS()], video: [useVP8({ rtcpFeedback: [usePLI(), useREMB()] })] },
  };
}

/**
 * `sdp` without its `a=candidate` lines for non-loopback addresses (Chromium
 * offers its LAN addresses even when loopback is allowed).
 * @param {string} sdp
 * @returns {string}
 */
export function keepLoopbackCandidates(sdp) {
  return sdp
    .split(/\r?\n/)
    .filter((line) => {
      if (!line.startsWith("a=candidate:")) return true;
      // a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
      const address = line.split(" ")[4];
      return isLoopbackAddress(address);
    })
    .join("\r\n");
}

/**
 * The UDP socket wrapper werift keeps on each ICE connection's protocols (not in its public types).
 * @typedef {{
 *   send: (data: Buffer, address?: [string, number]) => Promise<void>,
 *   onData?: (data: Buffer, address: [string, number]) => void,
 * }} DatagramTransport
 */

/**
 * Wraps `transport.send` so that a datagram for an address `scope` does not
 * allow is dropped and reported instead of sent. Idempotent.
 * @param {DatagramTransport} transport
 * @param {(address: string) => void} onRefused
 * @param {PeerScope} [scope]
 */
export function guardTransport(transport, onRefused, scope = "loopback") {
  const allowsPeer = peerAddressTest(scope);
  if (GUARDED.has(transport)) return;
  GUARDED.add(transport);
  const send = transport.send;
  transport.send = async (data, address) => {
    if (address && !allowsPeer(address[0])) {
      onRefused(address[0]);
      return;
    }
    await send(data, address);
  };
}

/** @type {WeakSet<object>} */
const GUARDED = new WeakSet();

/**
 * Every UDP socket wrapper a peer connection has opened so far (werift
 * opens them when it gathers, on a local description).
 * @param {import("werift").RTCPeerConnection} peer
 * @returns {DatagramTransport[]}
 */
export function peerDatagramTransports(peer) {
  return peer.iceTransports.flatMap((iceTransport) => {
    const { protocols } = /** @type {{ protocols: { transport?: DatagramTransport }[] }} */ (
      /** @type {unknown} */ (iceTransport.connection)
    );
    return protocols.flatMap((protocol) => (protocol.transport ? [protocol.transport] : []));
  });
}

/**
 * Guards every UDP socket a peer connection has opened so far (call it
 * after each local description).
 * @param {import("werift").RTCPeerConnection} peer
 * @param {(address: string) => void} onRefused
 * @param {PeerScope} scope
 */
export function guardPeerSends(peer, onRefused, scope) {
  for (const transport of peerDatagramTransports(peer)) guardTransport(transport, onRefused, scope);
}
