/**
 * Masking of addresses a user marks sensitive (`--mask CIDR`, SOCKLENS_MASK). Applied to
 * records before any output is written, so every format (table, JSON, snapshots, findings)
 * shows the same masked value. The mask keeps the family and says it was masked, so a
 * reader can still tell "some internal address" from "none".
 */

import { type Cidr, cidrContains } from "../net/cidr.js";
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
