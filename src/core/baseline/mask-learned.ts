/**
 * Masking for what `learn` writes: kept apart from core/mask.ts so that scan, which masks
 * sockets, does not load the baseline schema (zod) to start.
 */
import type {
  EgressRule,
  IngressRule,
  NetworkBaselineInput,
  Peer,
} from "../../api/v1alpha1/networkbaseline.js";
import { formatAddress } from "../../net/address.js";
import { type Cidr, cidrContains } from "../../net/cidr.js";
import { maskAddress } from "../mask.js";
import { peerRules } from "./learn.js";

/** "10.0.0.0/8" for a mask given as "10.1.2.3/8": the network, as a CIDR a baseline accepts. */
function networkOf(c: Cidr): string {
  const bytes = Uint8Array.from(c.bytes);
  for (let i = 0, bits = c.prefix; i < bytes.length; i++, bits -= 8)
    bytes[i] = (bytes[i] ?? 0) & (bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff);
  return `${formatAddress(bytes)}/${c.prefix}`;
}

/**
 * A learned baseline with sensitive addresses generalised: a peer inside a masked range is
 * learned as that range (an address the user hides cannot appear in the file, and "somewhere
 * in the masked network" is what can honestly be allowed), and a listener's bind address
 * inside one is dropped (any address). Rules that become the same merge their ports.
 */
export function maskLearned(b: NetworkBaselineInput, masks: readonly Cidr[]): NetworkBaselineInput {
  if (masks.length === 0) return b;
  const generalise = (p: Peer): Peer => {
    const cidr = p.ipBlock?.cidr;
    if (!cidr) return p;
    const address = cidr.slice(0, cidr.indexOf("/"));
    const mask = masks.find((m) => cidrContains(m, address));
    return mask ? { ipBlock: { cidr: networkOf(mask) } } : p;
  };
  const rules = (list: (EgressRule | IngressRule)[] | undefined, key: "to" | "from") =>
    list
      ? peerRules(
          list.flatMap((r) =>
            (((r as Record<string, unknown>)[key] as Peer[] | undefined) ?? []).map((peer) => ({
              peer: generalise(peer),
              ports: (r.ports ?? []).map((x) => `${x.port}/${x.protocol ?? "TCP"}`),
            })),
          ),
          key,
        )
      : undefined;
  const spec = { ...b.spec };
  if (spec.listeners)
    spec.listeners = spec.listeners.map((l) => {
      if (!l.address || maskAddress(l.address, masks) === l.address) return l;
      const { address: _hidden, ...rest } = l;
      return rest;
    });
  const egress = rules(spec.egress, "to");
  const ingress = rules(spec.ingress, "from");
  if (egress) spec.egress = egress as EgressRule[];
  if (ingress) spec.ingress = ingress as IngressRule[];
  return { ...b, spec };
}
