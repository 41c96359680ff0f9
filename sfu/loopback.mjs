// @ts-check
/**
 * Keeps the local SFU's media on 127.0.0.1: the werift configuration that
 * gathers and accepts loopback candidates only, the SDP filter that drops
 * every other candidate a browser offers, and a guard on the UDP sockets
 * that refuses any datagram addressed elsewhere (werift answers some STUN
 * requests, such as ICE role conflicts, before its own filters run).
 */
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

/**
 * The werift peer configuration for anything that must stay on loopback:
 * ICE lite (so werift never asks a public STUN server), host candidates on
 * 127.0.0.1 only, one bundled transport, VP8 and Opus.
 * @param {{ iceLite?: boolean }} [options] iceLite defaults to true (the SFU); test clients pass false.
 * @returns {Partial<import("werift").PeerConfig>}
 */
export function loopbackPeerConfig({ iceLite = true } = {}) {
  return {
    iceLite,
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [LOOPBACK_ADDRESS],
    iceInterfaceAddresses: { udp4: LOOPBACK_ADDRESS },
    iceFilterCandidatePair: (pair) => isLoopbackAddress(pair.remoteCandidate.host),
    iceFilterStunResponse: (_message, address) => isLoopbackAddress(address[0]),
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
 * Wraps `transport.send` so that a datagram for a non-loopback address is
 * dropped and reported instead of sent. Idempotent.
 * @param {DatagramTransport} transport
 * @param {(address: string) => void} onRefused
 */
export function guardTransport(transport, onRefused) {
  if (GUARDED.has(transport)) return;
  GUARDED.add(transport);
  const send = transport.send;
  transport.send = async (data, address) => {
    if (address && !isLoopbackAddress(address[0])) {
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
 */
export function guardPeerSends(peer, onRefused) {
  for (const transport of peerDatagramTransports(peer)) guardTransport(transport, onRefused);
}

/**
 * Chromium flags for a browser client of the local SFU: offer a loopback
 * candidate, and real addresses rather than mDNS `.local` names (the SFU
 * drops every candidate that is not 127.0.0.1, so no `.local` name is left
 * to resolve off the machine).
 */
export const CHROMIUM_LOOPBACK_FLAGS = Object.freeze([
  "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
]);
