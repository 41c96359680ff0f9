/**
 * Stand-in SDP for benchmarks of the media routes: text of a given size in
 * the shape WebRTC endpoints write, with no media behind it. Shared by the
 * SFU stub and the client side of bench:media-routes.
 */
import { randomBytes } from "node:crypto";

/**
 * SDP text of about `bytes` bytes in the shape WebRTC endpoints write
 * (session lines, then one audio and one video section with codec lines),
 * so JSON parsing and copying cost what they would with a browser's.
 */
export function sdpOfSize(bytes, role) {
  const head = [
    "v=0",
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0 1",
    "a=extmap-allow-mixed",
    "a=msid-semantic: WMS",
  ];
  const section = (kind, mid) => [
    `m=${kind} 9 UDP/TLS/RTP/SAVPF 111 96 97`,
    "c=IN IP4 0.0.0.0",
    "a=rtcp:9 IN IP4 0.0.0.0",
    `a=ice-ufrag:${randomBytes(3).toString("hex")}`,
    `a=ice-pwd:${randomBytes(12).toString("hex")}`,
    "a=ice-options:trickle",
    `a=fingerprint:sha-256 ${Array.from(randomBytes(32), (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":")}`,
    `a=setup:${role === "offer" ? "actpass" : "passive"}`,
    `a=mid:${mid}`,
    "a=sendrecv",
    `a=msid:- ${randomBytes(16).toString("hex")}`,
    "a=rtcp-mux",
    "a=rtcp-rsize",
  ];
  const lines = [...head, ...section("audio", 0), ...section("video", 1)];
  // Codec lines, as a browser lists a dozen video codecs with their feedback and parameters.
  for (let pt = 96; lines.join("\r\n").length < bytes - 60; pt++) {
    lines.push(`a=rtpmap:${pt} VP8/90000`, `a=rtcp-fb:${pt} nack pli`, `a=fmtp:${pt} max-fs=12288;max-fr=60`);
  }
  return `${lines.join("\r\n")}\r\n`;
}
