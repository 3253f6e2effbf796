/** CIDR blocks over text addresses: parsing with clear errors, and containment. */
import { parseIp } from "./address.js";

export interface Cidr {
  text: string;
  bytes: Uint8Array;
  prefix: number;
}

/** Parse "10.0.0.0/8" or "fd00::/8" (a bare address means a single host); throws with the reason. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const bytes = parseIp(addr);
  if (!bytes) throw new Error(`"${text}" is not a CIDR: "${addr}" is not an IPv4 or IPv6 address`);
  const max = bytes.length * 8;
  const prefixText = slash >= 0 ? text.slice(slash + 1) : String(max);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    throw new Error(`"${text}" is not a CIDR: prefix length must be 0-${max}`);
  }
  return { text, bytes, prefix: Number(prefixText) };
}

export function cidrContains(cidr: Cidr, address: string): boolean {
  const bytes = parseIp(address);
  if (!bytes || bytes.length !== cidr.bytes.length) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((cidr.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}
