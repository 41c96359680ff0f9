/**
 * The create key of a server that restricts who may create meetings
 * (CREATE_KEYS, contract 1.2). A key lives only as long as the page, unless
 * the person ticks "remember on this device": then in localStorage. A key
 * the server refuses is forgotten everywhere.
 */

/** Where a remembered key is kept. */
export const CREATE_KEY_STORAGE = "meettime.createKey";

type KeyStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export class CreateKeyMemory {
  #pageKey: string | undefined;
  readonly #storage: KeyStorage | undefined;

  /** `storage` is `localStorage` in the app; storage that throws (disabled, private mode) counts as none. */
  constructor(storage: KeyStorage | undefined) {
    this.#storage = storage;
  }

  /** The key to send with a create: this page's, else the one remembered on this device. */
  current(): string | undefined {
    return this.#pageKey ?? this.#attempt(() => this.#storage?.getItem(CREATE_KEY_STORAGE)) ?? undefined;
  }

  /** A key the server accepted: kept for this page, and on this device only if `remember`. */
  keep(key: string, remember: boolean): void {
    this.#pageKey = key;
    if (remember) this.#attempt(() => this.#storage?.setItem(CREATE_KEY_STORAGE, key));
    else this.#attempt(() => this.#storage?.removeItem(CREATE_KEY_STORAGE));
  }

  /** The server refused the key: nothing of it stays. */
  forget(): void {
    this.#pageKey = undefined;
    this.#attempt(() => this.#storage?.removeItem(CREATE_KEY_STORAGE));
  }

  #attempt<T>(action: () => T): T | undefined {
    try {
      return action();
    } catch {
      return undefined;
    }
  }
}

/** What the create page says when the server answers 401: it wants a key, or the key sent was wrong. */
export function createKeyRefusal(keyWasSent: boolean): string {
  return keyWasSent
    ? "That key was not accepted. Check it, or ask whoever runs this server for a new one."
    : "This server lets only people with a key create meetings. Enter the key you were given.";
}
