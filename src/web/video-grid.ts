/**
 * The video grid: one tile per person with video (this tab's own preview
 * first, muted), each labelled with the person's name (and how their
 * connection is going); a tile without a stream says why in words instead
 * of showing a black box. Large meetings are shown a page at a time (at most
 * `pageSize` tiles, pager buttons below): the tiles of other pages stay in
 * the document, hidden, so their audio keeps playing. Whoever is speaking
 * gets an outline.
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
  /**
   * Orders the tiles as `order` (everyone who may have a tile, this tab
   * first) and shows the current page of it; returns the ids on that page.
   */
  arrange(order: readonly string[]): string[];
  /** Outlines the tile of whoever is speaking. */
  setSpeaking(participantId: string, speaking: boolean): void;
}

export interface VideoGridOptions {
  /** Tiles on one page [25]. */
  pageSize?: number;
  /** The page shown changed (a pager button): its participant ids. */
  onPage?: (ids: string[]) => void;
}

export const DEFAULT_PAGE_SIZE = 25;
/** More tiles than this on a page are drawn smaller (`.crowded`). */
const CROWDED_PAGE = 9;

export function videoGrid(selfId: string, options: VideoGridOptions = {}): VideoGrid {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const tiles = new Map<string, Tile>();
  let order: string[] = [selfId];
  let page = 0;
  const grid = h("div", { class: "video-grid" });
  const previous = h("button", { type: "button", class: "secondary" }, "Previous page");
  const next = h("button", { type: "button", class: "secondary" }, "Next page");
  const pageStatus = h("span", { class: "pager-status", role: "status" });
  const pager = h(
    "nav",
    { class: "pager actions", "aria-label": "Video pages", hidden: true },
    previous,
    pageStatus,
    next,
  );
  const element = h("div", { class: "video-area", role: "region", "aria-label": "Video" }, grid, pager);

  const pageCount = () => Math.max(1, Math.ceil(order.length / pageSize));
  const pageIds = () => order.slice(page * pageSize, (page + 1) * pageSize);

  /** Puts the tiles in order and hides those not on the page; updates the pager. */
  const layout = () => {
    page = Math.min(page, pageCount() - 1);
    const visible = new Set(pageIds());
    const known = order.filter((id) => tiles.has(id));
    // Tiles of people not in the order yet (a stream before the list says who) go last.
    const rest = [...tiles.keys()].filter((id) => !order.includes(id));
    for (const id of [...known, ...rest]) {
      const tile = tiles.get(id);
      if (!tile) continue;
      grid.append(tile.element);
      tile.element.hidden = !visible.has(id) && order.includes(id);
    }
    // A full page at the roomy size would run several screens tall; smaller tiles keep it near one.
    grid.classList.toggle("crowded", visible.size > CROWDED_PAGE);
    const count = pageCount();
    pager.hidden = count <= 1;
    previous.disabled = page === 0;
    next.disabled = page >= count - 1;
    const first = page * pageSize + 1;
    const last = Math.min(order.length, (page + 1) * pageSize);
    pageStatus.textContent = `Page ${page + 1} of ${count} (people ${first}–${last} of ${order.length})`;
  };

  const turn = (step: number) => {
    page = Math.max(0, Math.min(pageCount() - 1, page + step));
    layout();
    options.onPage?.(pageIds());
  };
  previous.addEventListener("click", () => turn(-1));
  next.addEventListener("click", () => turn(1));

  const tileFor = (participantId: string): Tile => {
    const existing = tiles.get(participantId);
    if (existing) return existing;
    const self = participantId === selfId;
    // Own preview muted (no echo); every video plays inline so phones do not go full screen.
    const video = h("video", { autoplay: true, playsinline: true, muted: self, "data-participant-id": participantId });
    video.muted = self;
    const name = h("span", { class: "tile-name" });
    const placeholder = h("div", { class: "tile-placeholder" });
    const tile = {
      element: h("figure", { class: "tile", "data-participant-id": participantId }, video, placeholder, name),
      video,
      name,
      placeholder,
    };
    tiles.set(participantId, tile);
    layout();
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
      const hasVideo = Boolean(stream?.getVideoTracks().length);
      tile.video.hidden = !hasVideo;
      tile.placeholder.hidden = hasVideo;
      tile.placeholder.textContent = placeholder;
    },
    remove(participantId) {
      tiles.get(participantId)?.element.remove();
      tiles.delete(participantId);
      layout();
    },
    ids: () => [...tiles.keys()],
    arrange(wanted) {
      order = [...new Set(wanted)];
      layout();
      return pageIds();
    },
    setSpeaking(participantId, speaking) {
      tiles.get(participantId)?.element.classList.toggle("speaking", speaking);
    },
  };
}
