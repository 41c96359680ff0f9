/**
 * A pure function of a string, remembered for the last `limit` keys it was
 * asked about (oldest forgotten first; a throw is not remembered): for work
 * that requests repeat over a small set of values, such as Durable Object
 * ids and time zone names (issue 11).
 * @example const formatterFor = remembered(100, (timeZone) => new Intl.DateTimeFormat("en", { timeZone }))
 */
export function remembered<T>(limit: number, compute: (key: string) => T): (key: string) => T {
  const kept = new Map<string, T>();
  return (key) => {
    if (kept.has(key)) return kept.get(key) as T;
    const value = compute(key);
    kept.set(key, value);
    if (kept.size > limit) kept.delete(kept.keys().next().value as string);
    return value;
  };
}
