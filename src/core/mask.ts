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

export function maskSocket(s: Socket, masks: readonly Cidr[]): Socket {
  if (masks.length === 0 || s.family === "unix") return s;
  const localAddress = maskAddress(s.localAddress, masks);
  const remoteAddress = maskAddress(s.remoteAddress, masks);
  if (localAddress === s.localAddress && remoteAddress === s.remoteAddress) return s;
  return { ...s, localAddress, remoteAddress };
}

/**
 * A finding with every sensitive address masked: its peer, its socket, and the same
 * addresses inside its explanation (the sentence embeds them, so they are replaced as text).
 */
export function maskFinding(f: Finding, masks: readonly Cidr[]): Finding {
  if (masks.length === 0) return f;
  let message = f.message;
  for (const a of [f.peer?.address, f.socket?.localAddress, f.socket?.remoteAddress]) {
    if (a) message = message.split(a).join(maskAddress(a, masks));
  }
  const out: Finding = { ...f, message };
  if (f.peer) out.peer = { ...f.peer, address: maskAddress(f.peer.address, masks) };
  if (f.socket)
    out.socket = {
      ...f.socket,
      localAddress: maskAddress(f.socket.localAddress, masks),
      remoteAddress: maskAddress(f.socket.remoteAddress, masks),
    };
  return out;
}
