/** CIDR blocks over text addresses: parsing with clear errors, and containment. */
import { formatAddress, isV4Mapped, parseIp } from "./address.js";

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

/** The CIDR's address with every bit past the prefix cleared: the network the prefix selects. */
function networkBytes(c: Cidr): Uint8Array {
  const out = new Uint8Array(c.bytes.length);
  let bits = c.prefix;
  for (let i = 0; i < out.length && bits > 0; i++, bits -= 8)
    out[i] = (c.bytes[i] ?? 0) & (bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff);
  return out;
}

/** True when the address has bits set past the prefix (10.1.2.3/8): not a network address. */
export function hasHostBits(c: Cidr): boolean {
  const net = networkBytes(c);
  return net.some((b, i) => b !== c.bytes[i]);
}

/** The network a CIDR's prefix selects, in canonical text: "10.0.0.0/8" for "10.1.2.3/8". */
export function cidrNetwork(c: Cidr): string {
  const net = networkBytes(c);
  // formatAddress folds IPv4-mapped IPv6 to dotted IPv4; a /100 of IPv6 must stay IPv6.
  const text =
    net.length === 16 && isV4Mapped(net) ? `::ffff:${formatAddress(net.subarray(12))}` : formatAddress(net);
  return `${text}/${c.prefix}`;
}

/**
 * Why a CIDR that parses is not a network address, naming the network its prefix selects and
 * the single address that may have been meant; undefined when it is one (or does not parse:
 * that is the syntax check's to say).
 */
export function hostBitsProblem(text: string): string | undefined {
  let c: Cidr;
  try {
    c = parseCidr(text);
  } catch {
    return undefined;
  }
  if (!hasHostBits(c)) return undefined;
  const network = cidrNetwork(c);
  const one = `${text.slice(0, text.indexOf("/"))}/${c.bytes.length * 8}`;
  return `${text} has host bits set: /${c.prefix} selects the network ${network}; write ${network}, or ${one} for the one address`;
}
