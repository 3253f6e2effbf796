/** Who a peer is, in words: the one spelling for findings, observations and the table's Peer column. */
import type { PeerInfo } from "./baseline/types.js";
import type { RemoteRef } from "./socket.js";

/**
 * "pod shop/db-0", "service shop/db", "node n1", "external" — or with `sep` "/" the compact
 * column form "pod/shop/db-0", "node/n1".
 */
export function identityText(ref: RemoteRef | PeerInfo, sep: " " | "/" = " "): string {
  if (ref.kind === "external") return "external";
  if (ref.kind === "node") return `node${sep}${ref.name}`;
  return `${ref.kind}${sep}${ref.namespace}/${ref.name}`;
}
