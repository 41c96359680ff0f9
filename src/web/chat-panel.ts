/**
 * The chat: the log (a polite live region, so screen readers read new
 * messages) and the send form. Messages are shown once each, in `seq`
 * order, whatever mix of stored history, live events and replay after a
 * reconnect delivers them.
 */
import type { ChatMessageData } from "../client/types";
import { h } from "./dom";
import { describeError } from "./messages";

export interface ChatPanel {
  element: HTMLElement;
  /** Shows a message unless one with its `seq` is already shown. */
  add(message: ChatMessageData): void;
  setEnabled(enabled: boolean): void;
}

export function chatPanel(selfId: string, send: (text: string) => Promise<unknown>): ChatPanel {
  const shown = new Set<number>();
  const log = h("ol", {
    class: "chat-log",
    "aria-label": "Chat messages",
    "aria-live": "polite",
    "aria-relevant": "additions",
    tabindex: 0,
  });
  const input = h("input", {
    name: "message",
    "aria-label": "Message",
    placeholder: "Write a message",
    maxlength: 2000,
    autocomplete: "off",
    required: true,
  });
  const submit = h("button", { type: "submit" }, "Send");
  const error = h("p", { class: "notice error", role: "alert" });
  const form = h("form", { class: "chat-form" }, input, submit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    error.textContent = "";
    submit.disabled = true;
    try {
      await send(text);
      input.value = "";
    } catch (caught) {
      error.textContent = `Not sent: ${describeError(caught)}`;
    } finally {
      submit.disabled = false;
      input.focus();
    }
  });

  const add = (message: ChatMessageData) => {
    if (shown.has(message.seq)) return;
    shown.add(message.seq);
    const time = new Date(message.ts);
    const item = h(
      "li",
      { "data-seq": message.seq },
      h(
        "div",
        { class: "meta" },
        h("strong", {}, message.participantId === selfId ? `${message.name} (you)` : message.name),
        " · ",
        h("time", { datetime: time.toISOString() }, time.toLocaleTimeString(undefined, { timeStyle: "short" })),
      ),
      h("div", { class: "text" }, message.text),
    );
    // Usually the newest; a replayed older message goes where its seq belongs.
    const later = [...log.children].find((child) => Number((child as HTMLElement).dataset.seq) > message.seq);
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.insertBefore(item, later ?? null);
    if (atBottom) log.scrollTop = log.scrollHeight;
  };

  return {
    element: h(
      "section",
      { class: "panel chat", "aria-labelledby": "chat-heading" },
      h("h2", { id: "chat-heading" }, "Chat"),
      log,
      error,
      form,
    ),
    add,
    setEnabled(enabled) {
      input.disabled = !enabled;
      submit.disabled = !enabled;
    },
  };
}
