/**
 * The video grid: one tile per person with video (this tab's own preview
 * first, muted), each labelled with the person's name (and how their
 * connection is going); a tile without a stream says why in words instead
 * of showing a black box.
 */
import { h, personName } from "./dom";

interface Tile {
  element: HTMLElement;
  video: HTMLVideoElement;
  name: HTMLElement;
  placeholder: HTMLElement;
}

export interface VideoGrid {
  element: HTMLElement;
  /** Creates or updates a person's tile; `stream` null shows `placeholder` instead; `status` follows the name. */
  show(participantId: string, name: string, stream: MediaStream | null, placeholder?: string, status?: string): void;
  remove(participantId: string): void;
  /** Every tile's participant id, in order. */
  ids(): string[];
}

export function videoGrid(selfId: string): VideoGrid {
  const tiles = new Map<string, Tile>();
  const element = h("div", { class: "video-grid", role: "region", "aria-label": "Video" });

  const tileFor = (participantId: string): Tile => {
    const existing = tiles.get(participantId);
    if (existing) return existing;
    const self = participantId === selfId;
    // Own preview muted (no echo); every video plays inline so phones do not go full screen.
    const video = h("video", { autoplay: true, playsinline: true, muted: self, "data-participant-id": participantId });
    video.muted = self;
    const name = h("span", { class: "tile-name" });
    const placeholder = h("div", { class: "tile-placeholder" });
    const tile = { element: h("figure", { class: "tile" }, video, placeholder, name), video, name, placeholder };
    tiles.set(participantId, tile);
    if (self) element.prepend(tile.element);
    else element.append(tile.element);
    return tile;
  };

  return {
    element,
    show(participantId, name, stream, placeholder = "No video", status) {
      const tile = tileFor(participantId);
      tile.name.replaceChildren(
        personName(name, { self: participantId === selfId }),
        ...(status ? [h("span", { class: "tile-status" }, status)] : []),
      );
      tile.video.setAttribute("aria-label", `Video of ${name}`);
      if (tile.video.srcObject !== stream) {
        tile.video.srcObject = stream;
        // Autoplay can be refused until the person interacts; the next show or click starts it.
        if (stream) tile.video.play().catch(() => {});
      }
      tile.video.hidden = !stream;
      tile.placeholder.hidden = Boolean(stream);
      tile.placeholder.textContent = placeholder;
    },
    remove(participantId) {
      tiles.get(participantId)?.element.remove();
      tiles.delete(participantId);
    },
    ids: () => [...tiles.keys()],
  };
}
