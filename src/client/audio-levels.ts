/**
 * Who is speaking, from `getStats()`: the `audioLevel` (0..1) that the
 * browser measures on each decoded remote audio track (`inbound-rtp`) and on
 * the local microphone (`media-source`). It needs no RTP header extension,
 * so it works through any SFU.
 */

/**
 * Audio levels in one stats report: remote tracks by the participant
 * `participantByTrack` maps their track id to, the microphone as `"self"`.
 */
export function inboundAudioLevels(
  report: RTCStatsReport,
  participantByTrack: ReadonlyMap<string, string>,
): Map<string, number> {
  const levels = new Map<string, number>();
  report.forEach((stats: { type: string; kind?: string; trackIdentifier?: string; audioLevel?: number }) => {
    if (stats.kind !== "audio" || typeof stats.audioLevel !== "number") return;
    if (stats.type === "media-source") {
      levels.set("self", Math.max(levels.get("self") ?? 0, stats.audioLevel));
      return;
    }
    const participantId =
      stats.type === "inbound-rtp" ? participantByTrack.get(stats.trackIdentifier ?? "") : undefined;
    if (participantId) levels.set(participantId, stats.audioLevel);
  });
  return levels;
}
