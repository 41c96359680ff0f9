/**
 * Durable Object ids kept per namespace and isolate: deriving one (hashing a
 * name, or checking a string id's signature) is work every request of the
 * same meeting or client repeated (issue 11). An id is a plain value, valid
 * in any request; stubs are not kept. At most KEPT_IDS of each kind.
 */
import { remembered } from "./remembered";

const KEPT_IDS = 1_000;

interface KeptIds {
  byName: (name: string) => DurableObjectId;
  byString: (id: string) => DurableObjectId;
}

const idsByNamespace = new WeakMap<DurableObjectNamespace, KeptIds>();

function keptIds(namespace: DurableObjectNamespace): KeptIds {
  let ids = idsByNamespace.get(namespace);
  if (!ids) {
    ids = {
      byName: remembered(KEPT_IDS, (name) => namespace.idFromName(name)),
      byString: remembered(KEPT_IDS, (id) => namespace.idFromString(id)),
    };
    idsByNamespace.set(namespace, ids);
  }
  return ids;
}

/** `namespace.idFromName(name)`, derived once per isolate. */
export function idFromName(namespace: DurableObjectNamespace, name: string): DurableObjectId {
  return keptIds(namespace).byName(name);
}

/** `namespace.idFromString(id)`, checked once per isolate; throws as it does for an id it never minted. */
export function idFromString(namespace: DurableObjectNamespace, id: string): DurableObjectId {
  return keptIds(namespace).byString(id);
}
