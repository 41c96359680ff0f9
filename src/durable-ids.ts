/**
 * Durable Object ids kept per namespace and isolate: deriving one (hashing a
 * name, or checking a string id's signature) is work every request of the
 * same meeting or client repeated (issue 11). An id is a plain value, valid
 * in any request; stubs are not kept. Oldest dropped first past KEPT_IDS.
 */
const KEPT_IDS = 1_000;
const idsByNamespace = new WeakMap<DurableObjectNamespace, Map<string, DurableObjectId>>();

function keptId(namespace: DurableObjectNamespace, key: string, derive: () => DurableObjectId): DurableObjectId {
  let ids = idsByNamespace.get(namespace);
  if (!ids) {
    ids = new Map();
    idsByNamespace.set(namespace, ids);
  }
  let id = ids.get(key);
  if (!id) {
    id = derive();
    ids.set(key, id);
    if (ids.size > KEPT_IDS) ids.delete(ids.keys().next().value as string);
  }
  return id;
}

/** `namespace.idFromName(name)`, derived once per isolate. */
export function idFromName(namespace: DurableObjectNamespace, name: string): DurableObjectId {
  return keptId(namespace, `name:${name}`, () => namespace.idFromName(name));
}

/** `namespace.idFromString(id)`, checked once per isolate; throws as it does for an id it never minted. */
export function idFromString(namespace: DurableObjectNamespace, id: string): DurableObjectId {
  return keptId(namespace, `id:${id}`, () => namespace.idFromString(id));
}
