/**
 * Links to hand out: invites (host only; each admits one person, and the
 * token rides in the URL fragment, which browsers never send to a server)
 * and the calendar subscription (anyone; a read-only calendar token, not
 * the person's own session token, goes into the URL a calendar app stores).
 */
import { h, labelled } from "./dom";
import { describeError } from "./messages";

export interface LinkSources {
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

export function linksPanel(sources: LinkSources): HTMLElement {
  return h(
    "section",
    { class: "panel links", "aria-labelledby": "links-heading" },
    h("h2", { id: "links-heading" }, "Links"),
    sources.invite &&
      linkBox("Invite link", "Each invite link lets one person in.", "Create invite link", sources.invite),
    linkBox(
      "Calendar link",
      "Subscribe to it in a calendar app; it follows changes of the time.",
      "Get calendar link",
      sources.calendar,
    ),
  );
}
