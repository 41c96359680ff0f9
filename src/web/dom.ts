/**
 * A few DOM helpers so views read as markup: `h()` builds an element with
 * attributes, event handlers and children; `clear()` empties one.
 */

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | EventListener>;

/**
 * Builds an element. Keys starting with `on` are event listeners; `false`,
 * `null` and `undefined` attributes are left out, `true` sets an empty one.
 * @example h("button", { type: "button", onclick: () => send() }, "Send")
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  element.append(...children.filter((child): child is Node | string => Boolean(child)));
  return element;
}

/** Replaces an element's children. */
export function replaceChildren(element: Element, ...children: Child[]) {
  element.replaceChildren(...children.filter((child): child is Node | string => Boolean(child)));
}

/** Reads a form control by name, so forms need no ids threaded through the code. */
export function field<T extends HTMLInputElement | HTMLSelectElement>(form: HTMLFormElement, name: string): T {
  const control = form.elements.namedItem(name);
  if (!control) throw new Error(`form has no field ${name}`);
  return control as T;
}

let idCounter = 0;
/** A document-unique id for label/aria wiring. */
export function uniqueId(prefix: string) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A label + control pair; the label is bound by id, so screen readers and clicks reach the control. */
export function labelled(text: string, control: HTMLElement, hint?: string): HTMLElement {
  control.id ||= uniqueId("field");
  const hintElement = hint ? h("small", { id: `${control.id}-hint`, class: "hint" }, hint) : null;
  if (hintElement) control.setAttribute("aria-describedby", hintElement.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, text), control, hintElement);
}

/**
 * A person's name as every view shows it: the name isolated in `<bdi>` (so
 * right-to-left text or punctuation in it cannot reorder what follows), and
 * "(you)" and "· host" as separate, styled tags that no name can imitate.
 * @example personName(participant.name, { self: true, host: participant.role === "host" })
 */
export function personName(name: string, { self = false, host = false } = {}): HTMLElement {
  return h(
    "span",
    { class: "person" },
    h("bdi", { class: "person-name" }, name),
    self && h("span", { class: "role-tag you" }, hiddenText(" ("), "you", hiddenText(")")),
    host && h("span", { class: "role-tag host" }, hiddenText(" · "), "host"),
  );
}

const hiddenText = (text: string) => h("span", { class: "visually-hidden" }, text);
