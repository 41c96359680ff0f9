/**
 * Bounded in-memory caches: a Map holds at most `limit` keys, the oldest
 * written forgotten first (a Map iterates in insertion order). For work
 * that requests repeat over a small set of values, such as Durable Object
 * ids, time zone names, verified tokens and rate-limit windows (issue 11).
 */

/** `map.set(key, value)`, moving `key` to the end, then forgetting the oldest keys past `limit`. */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value as K);
}

/**
 * A pure function of a string, remembered for the last `limit` keys it was
 * asked about (a throw is not remembered).
 * @example const formatterFor = remembered(100, (timeZone) => new Intl.DateTimeFormat("en", { timeZone }))
 */
export function remembered<T>(limit: number, compute: (key: string) => T): (key: string) => T {
  const kept = new Map<string, T>();
  return (key) => {
    if (kept.has(key)) return kept.get(key) as T;
    const value = compute(key);
    setBounded(kept, key, value, limit);
    return value;
  };
}
