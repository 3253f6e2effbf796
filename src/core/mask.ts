/**
 * Masking of addresses a user marks sensitive (`--mask CIDR`, SOCKLENS_MASK). Applied to
 * records before any output is written, so every format (table, JSON, snapshots, findings)
 * shows the same masked value. The mask keeps the family and says it was masked, so a
 * reader can still tell "some internal address" from "none".
 */

import type { EgressRule, IngressRule, NetworkBaselineInput, Peer } from "../api/v1alpha1/networkbaseline.js";
import { formatAddress } from "../net/address.js";
import { type Cidr, cidrContains } from "../net/cidr.js";
import { peerRules } from "./baseline/learn.js";
import type { Finding } from "./baseline/types.js";
import type { Socket } from "./socket.js";

export const MASKED_V4 = "x.x.x.x";
export const MASKED_V6 = "x:x:x:x";

export function maskAddress(address: string, masks: readonly Cidr[]): string {
  if (masks.length === 0 || address === "") return address;
  for (const m of masks) if (cidrContains(m, address)) return address.includes(":") ? MASKED_V6 : MASKED_V4;
  return address;
}

// Address-shaped runs in free text. IPv6 candidates first (hex groups with at least two
// colons, possibly ending in a dotted quad); then dotted quads, also inside a candidate that
// was not an address ("a:443:10.0.0.7") or a mapped one ("::ffff:10.0.0.7").
const V6_IN_TEXT =
  /(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|[0-9]{1,3}(?:\.[0-9]{1,3}){3})?(?![0-9A-Fa-f:])/g;
const V4_IN_TEXT = /(?<![0-9.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![0-9]|\.[0-9])/g;

/**
 * Every sensitive address inside free text — a command line (`curl 10.0.0.7`), an
 * explanation that quotes a peer or a baseline's own CIDR — masked in place.
 */
export function maskText(text: string, masks: readonly Cidr[]): string {
  if (masks.length === 0 || text === "") return text;
  return text
    .replace(V6_IN_TEXT, (a) => (a.includes(".") ? a : maskAddress(a, masks)))
    .replace(V4_IN_TEXT, (a) => maskAddress(a, masks));
}

export function maskSocket(s: Socket, masks: readonly Cidr[]): Socket {
  if (masks.length === 0) return s;
  const cmdline = s.cmdline === undefined ? undefined : maskText(s.cmdline, masks);
  if (s.family === "unix") return cmdline === s.cmdline ? s : { ...s, cmdline: cmdline as string };
  const localAddress = maskAddress(s.localAddress, masks);
  const remoteAddress = maskAddress(s.remoteAddress, masks);
  if (localAddress === s.localAddress && remoteAddress === s.remoteAddress && cmdline === s.cmdline) return s;
  return { ...s, localAddress, remoteAddress, ...(cmdline !== undefined ? { cmdline } : {}) };
}

/**
 * A finding with every sensitive address masked: its peer, its socket, its process's command
 * line, and every address inside its explanation (peers, top-peer lists, the baseline's own
 * CIDRs it quotes).
 */
export function maskFinding(f: Finding, masks: readonly Cidr[]): Finding {
  if (masks.length === 0) return f;
  const out: Finding = { ...f, message: maskText(f.message, masks) };
  if (f.holder?.cmdline !== undefined)
    out.holder = { ...f.holder, cmdline: maskText(f.holder.cmdline, masks) };
  if (f.peer) out.peer = { ...f.peer, address: maskAddress(f.peer.address, masks) };
  if (f.socket)
    out.socket = {
      ...f.socket,
      localAddress: maskAddress(f.socket.localAddress, masks),
      remoteAddress: maskAddress(f.socket.remoteAddress, masks),
    };
  return out;
}

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
