/**
 * Links to hand out. Host only: the meeting link (contract 1.2; one link for
 * everyone, who wait in the lobby until the host lets them in unless the
 * host switches that off; revocable) and single-use invites (for a closed
 * meeting: each admits one person). Tokens ride in the URL fragment, which
 * browsers never send to a server. Anyone: the calendar subscription (a
 * read-only calendar token, not the person's own session token, goes into
 * the URL a calendar app stores).
 */
import type { LinkData } from "../client/types";
import { h, labelled, replaceChildren } from "./dom";
import { describeError } from "./messages";

const SHORT_DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** The host's meeting links: make one (with or without the lobby), list them, revoke one. */
export interface MeetingLinkSource {
  create(lobby: boolean): Promise<{ link: LinkData; url: string }>;
  list(): Promise<LinkData[]>;
  revoke(linkId: string): Promise<unknown>;
  /** Calls `refresh` when a link's uses may have changed (someone joined with one). */
  watch(refresh: () => void): void;
}

export interface LinkSources {
  /** Meeting links (host only). */
  meetingLink?: MeetingLinkSource;
  /** A fresh single-use invite token (host only). */
  invite?: () => Promise<string>;
  /** The calendar subscription path with its token. */
  calendar: () => Promise<string>;
}

/** Copies text, falling back to selecting it where the async clipboard is refused (permissions, old browsers). */
async function copy(input: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    input.select();
    return document.execCommand("copy");
  }
}

function linkBox(label: string, hint: string, buttonText: string, make: () => Promise<string>): HTMLElement {
  const output = h("input", { readonly: true, name: label });
  const copyButton = h(
    "button",
    { type: "button", class: "secondary small", "aria-label": `Copy ${label.toLowerCase()}` },
    "Copy",
  );
  const status = h("p", { class: "hint", role: "status" });
  const field = labelled(label, output, hint);
  // The label stays bound to the input by id; the copy button sits beside the input.
  field.insertBefore(h("div", { class: "link-box" }, output, copyButton), field.querySelector(".hint"));
  field.hidden = true;
  const create = h("button", { type: "button", class: "secondary small" }, buttonText);
  create.addEventListener("click", async () => {
    create.disabled = true;
    status.textContent = "";
    try {
      output.value = await make();
      field.hidden = false;
      output.focus();
      output.select();
      status.textContent = "Link ready: copy it and send it.";
    } catch (caught) {
      status.textContent = describeError(caught);
    } finally {
      create.disabled = false;
    }
  });
  copyButton.addEventListener("click", async () => {
    status.textContent = (await copy(output)) ? "Copied." : "Select the link and copy it.";
  });
  return h("div", { class: "link-field" }, h("div", { class: "actions" }, create), field, status);
}

/** One line about a link: whether it waits, how much of it is used, until when. */
function describeLink(link: LinkData): string {
  const mode = link.lobby ? "People wait for you" : "People join at once";
  const until = SHORT_DATE_TIME.format(new Date(link.expiresAt));
  return `${mode} · ${link.uses} of ${link.maxUses} used · until ${until}`;
}

/**
 * "Copy meeting link": makes a link the first time (and again when the
 * switch changed), then copies it. Below it, the live links, each revocable.
 */
function meetingLinkBox(source: MeetingLinkSource): HTMLElement {
  const direct = h("input", { type: "checkbox", role: "switch", name: "direct" });
  const switchLabel = h("label", { class: "switch" }, direct, " Let people in without waiting for me");
  const output = h("input", { readonly: true, name: "Meeting link" });
  const field = labelled("Meeting link", output);
  field.hidden = true;
  const copyButton = h("button", { type: "button", class: "secondary small" }, "Copy meeting link");
  const status = h("p", { class: "hint", role: "status" });
  const listHeading = h("h3", { id: "live-links-heading", hidden: true }, "Meeting links in use");
  const list = h("ul", { class: "link-list", "aria-labelledby": listHeading.id });
  let current: { link: LinkData; url: string } | null = null;

  const refresh = async () => {
    const links = (await source.list()).filter((link) => !link.revoked);
    if (current && !links.some((link) => link.id === current?.link.id)) current = null;
    field.hidden = current === null;
    listHeading.hidden = links.length === 0;
    replaceChildren(
      list,
      ...links.map((link) => {
        const revoke = h(
          "button",
          { type: "button", class: "secondary small", "aria-label": `Revoke the meeting link: ${describeLink(link)}` },
          "Revoke",
        );
        revoke.addEventListener("click", async () => {
          revoke.disabled = true;
          try {
            await source.revoke(link.id);
            status.textContent =
              "Link revoked: it lets nobody in any more, and anyone waiting with it was turned away.";
            await refresh();
          } catch (caught) {
            revoke.disabled = false;
            status.textContent = describeError(caught);
          }
        });
        return h("li", { "data-link-id": link.id }, h("span", {}, describeLink(link)), revoke);
      }),
    );
  };

  copyButton.addEventListener("click", async () => {
    copyButton.disabled = true;
    status.textContent = "";
    const lobby = !direct.checked;
    try {
      if (current?.link.lobby !== lobby) {
        current = await source.create(lobby);
        output.value = current.url;
        field.hidden = false;
        await refresh();
      }
      const copied = await copy(output);
      const who = lobby ? "People who open it wait until you let them in." : "Anyone who opens it joins at once.";
      status.textContent = copied ? `Meeting link copied. ${who}` : `Select the link and copy it. ${who}`;
    } catch (caught) {
      status.textContent = describeError(caught);
    } finally {
      copyButton.disabled = false;
    }
  });
  const refreshQuietly = () => {
    refresh().catch(() => {
      // The list is a convenience; making a link still works and refreshes it.
    });
  };
  refreshQuietly();
  source.watch(refreshQuietly);
  return h(
    "div",
    { class: "link-field meeting-link" },
    h("p", { class: "hint" }, "One link for everyone you invite. You can turn it off at any time."),
    switchLabel,
    h("div", { class: "actions" }, copyButton),
    field,
    status,
    listHeading,
    list,
  );
}

export function linksPanel(sources: LinkSources): HTMLElement {
  return h(
    "section",
    { class: "panel links", "aria-labelledby": "links-heading" },
    h("h2", { id: "links-heading" }, "Links"),
    sources.meetingLink && meetingLinkBox(sources.meetingLink),
    sources.invite &&
      linkBox(
        "Invite link",
        "For a closed meeting: each invite link lets one person in, once.",
        "Create invite link",
        sources.invite,
      ),
    linkBox(
      "Calendar link",
      "Subscribe to it in a calendar app; it follows changes of the time.",
      "Get calendar link",
      sources.calendar,
    ),
  );
}
