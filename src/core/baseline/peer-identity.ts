/**
 * What a peer *is*, for learning: a workload (by its stable selector), a Service, one of the
 * entities the API names, or — only when the cluster does not know it — an address. A
 * learned baseline written from identities survives rollouts, restarts and scale-outs; one
 * written from pod IPs floods on the next rollout (docs/adr/0008-identity-learning.md).
 */
import { MAX_MATCH_LABELS } from "../../api/v1alpha1/common.js";
import type { Peer } from "../../api/v1alpha1/networkbaseline.js";
import type { IdentityResolver } from "./types.js";

export type PeerIdentity =
  | {
      kind: "workload";
      namespace: string;
      selector: Record<string, string>;
      /** For people: "deployment shop/db". Not part of the identity. */
      workload?: { kind: string; name: string };
    }
  | { kind: "service"; namespace: string; name: string }
  | { kind: "entity"; entity: "host" | "remote-node" | "kube-apiserver" }
  | { kind: "address"; address: string };

/** Who is at `address`, as a baseline can name it. Without cluster knowledge: host or address. */
export function identifyPeer(address: string, r: IdentityResolver): PeerIdentity {
  if (r.isHost(address)) return { kind: "entity", entity: "host" };
  if (r.isApiServer?.(address, 0)) return { kind: "entity", entity: "kube-apiserver" };
  const info = r.peer?.(address);
  if (info?.kind === "service") return { kind: "service", namespace: info.namespace, name: info.name };
  if (info?.kind === "node") return { kind: "entity", entity: "remote-node" };
  // A selector a baseline cannot hold (over the schema's label limit) is no identity either.
  const labels = info?.kind === "pod" && info.selector ? Object.keys(info.selector).length : 0;
  if (info?.kind === "pod" && info.selector && labels > 0 && labels <= MAX_MATCH_LABELS)
    return {
      kind: "workload",
      namespace: info.namespace,
      selector: info.selector,
      ...(info.workload ? { workload: info.workload } : {}),
    };
  return { kind: "address", address };
}

const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/** The NetworkBaseline peer for an identity, seen from a baseline in `baselineNamespace`. */
export function peerFor(id: PeerIdentity, baselineNamespace: string): Peer {
  switch (id.kind) {
    case "workload":
      return {
        podSelector: { matchLabels: sortedRecord(id.selector) },
        ...(id.namespace !== baselineNamespace
          ? { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: id.namespace } } }
          : {}),
      };
    case "service":
      return {
        service: {
          name: id.name,
          ...(id.namespace !== baselineNamespace ? { namespace: id.namespace } : {}),
        },
      };
    case "entity":
      return { entity: id.entity };
    case "address":
      return { ipBlock: { cidr: `${id.address}/${id.address.includes(":") ? 128 : 32}` } };
  }
}

/** A stable text key for a peer (the same peer from two nodes or two scans is one key). */
export function peerKey(p: Peer): string {
  return JSON.stringify(canonical(p));
}

/** How a person names the identity: "deployment shop/db", "service shop/db", "entity host", "10.0.0.9". */
export function describeIdentity(id: PeerIdentity): string {
  switch (id.kind) {
    case "workload":
      return id.workload
        ? `${id.workload.kind.toLowerCase()} ${id.namespace}/${id.workload.name}`
        : `pods ${id.namespace}/{${Object.entries(id.selector)
            .map(([k, v]) => `${k}=${v}`)
            .join(",")}}`;
    case "service":
      return `service ${id.namespace}/${id.name}`;
    case "entity":
      return `entity ${id.entity}`;
    case "address":
      return id.address;
  }
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, canonical(x)]),
    );
  return v;
}
