/**
 * A tiny typed event emitter (no Node `EventEmitter` in browsers, and DOM
 * `EventTarget` loses the payload types). A listener that throws is reported
 * on the console and does not stop the others.
 */
export type Listener<T> = (data: T) => void;

export class Emitter<Events extends object> {
  #listeners = new Map<keyof Events, Set<Listener<any>>>();

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    const set = this.#listeners.get(type) ?? new Set();
    this.#listeners.set(type, set);
    set.add(listener);
    return () => this.off(type, listener);
  }

  /** Like `on`, for the next event only. */
  once<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(type, (data) => {
      off();
      listener(data);
    });
    return off;
  }

  off<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(type)?.delete(listener);
  }

  protected emit<K extends keyof Events>(type: K, data: Events[K]): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) {
      try {
        listener(data);
      } catch (error) {
        console.error(`meettime: a "${String(type)}" listener threw`, error);
      }
    }
  }
}
