/**
 * The chat: the log (a polite live region, so screen readers read new
 * messages) and the send form. Messages are shown once each, in `seq`
 * order, whatever mix of stored history, live events and replay after a
 * reconnect delivers them; the log keeps the latest `KEPT_MESSAGES`, so a
 * long meeting costs the same per message as a short one.
 */
import type { ChatMessageData } from "../client/types";
import { ChatHistory } from "./chat-history";
import { h, personName } from "./dom";
import { describeError } from "./messages";
import { KEPT_MESSAGES } from "./seat";

export interface ChatPanel {
  element: HTMLElement;
  /** Shows a message unless one with its `seq` is already shown; true when it is new. */
  add(message: ChatMessageData): boolean;
  /** The shown messages, oldest first (at most `KEPT_MESSAGES`). */
  readonly messages: readonly ChatMessageData[];
  setEnabled(enabled: boolean): void;
}

export function chatPanel(selfId: string, send: (text: string) => Promise<unknown>): ChatPanel {
  const history = new ChatHistory(KEPT_MESSAGES);
  const items = new Map<number, HTMLElement>();
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
    const change = history.add(message);
    if (!change.added) return false;
    const time = new Date(message.ts);
    const item = h(
      "li",
      { "data-seq": message.seq },
      h(
        "div",
        { class: "meta" },
        h("strong", {}, personName(message.name, { self: message.participantId === selfId })),
        " · ",
        h("time", { datetime: time.toISOString() }, time.toLocaleTimeString(undefined, { timeStyle: "short" })),
      ),
      h("div", { class: "text" }, message.text),
    );
    // Usually the newest; a replayed older message goes where its seq belongs.
    const later = change.beforeSeq === undefined ? null : (items.get(change.beforeSeq) ?? null);
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.insertBefore(item, later);
    items.set(message.seq, item);
    for (const seq of change.evicted) {
      items.get(seq)?.remove();
      items.delete(seq);
    }
    if (atBottom) log.scrollTop = log.scrollHeight;
    return true;
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
    get messages() {
      return history.messages;
    },
    setEnabled(enabled) {
      input.disabled = !enabled;
      submit.disabled = !enabled;
    },
  };
}
