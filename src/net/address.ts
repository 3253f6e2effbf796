/**
 * Addresses as the kernel prints them in /proc/net/{tcp,udp,raw}{,6}, and as humans read them.
 *
 * The kernel formats the socket's address words with `%08X` on the *in-memory* u32, not on the
 * network-order value (see net/ipv4/tcp_ipv4.c get_tcp4_sock and net/ipv6/tcp_ipv6.c). On a
 * little-endian CPU such as x86_64 every 4-byte word therefore comes out byte-reversed:
 * 127.0.0.1 (bytes 7F 00 00 01) is printed "0100007F". IPv6 is four such words. Ports are
 * printed after ntohs(), so they are plain big-endian hex. We decode for the byte order of
 * the machine we run on, which is also the kernel's.
 */
import { endianness } from "node:os";

const LITTLE_ENDIAN = endianness() === "LE";

const HEX = /^[0-9A-Fa-f]+$/;

/** Decode a kernel hex address (8 or 32 hex digits) to its network-order bytes; null if malformed. */
export function procHexToBytes(hex: string, littleEndian = LITTLE_ENDIAN): Uint8Array | null {
  if ((hex.length !== 8 && hex.length !== 32) || !HEX.test(hex)) return null;
  const bytes = new Uint8Array(hex.length / 2);
  for (let word = 0; word < hex.length / 8; word++) {
    for (let i = 0; i < 4; i++) {
      const pos = word * 8 + i * 2;
      const value = Number.parseInt(hex.slice(pos, pos + 2), 16);
      bytes[word * 4 + (littleEndian ? 3 - i : i)] = value;
    }
  }
  return bytes;
}

/** The inverse of procHexToBytes: what the kernel would print for these bytes. */
export function bytesToProcHex(bytes: Uint8Array, littleEndian = LITTLE_ENDIAN): string {
  let out = "";
  for (let word = 0; word < bytes.length / 4; word++) {
    for (let i = 0; i < 4; i++) {
      const b = bytes[word * 4 + (littleEndian ? 3 - i : i)] ?? 0;
      out += b.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return out;
}

/** True when 16 bytes are an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
export function isV4Mapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * Format bytes as text. IPv4-mapped IPv6 folds to dotted IPv4, because that is the peer a
 * human (and a CIDR rule) means; IPv6 uses the RFC 5952 canonical compressed form.
 */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (isV4Mapped(bytes)) return formatAddress(bytes.subarray(12));
  return formatIPv6(bytes);
}

function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952 §4.2: compress the longest run (length >= 2) of zero groups, the first on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLen).join(":");
  return `${head}::${tail}`;
}

/** Decode a kernel hex address straight to text; null if malformed. */
export function decodeProcAddress(hex: string): string | null {
  const bytes = procHexToBytes(hex);
  return bytes ? formatAddress(bytes) : null;
}

/** Parse an IPv4 or IPv6 text address into network-order bytes; null if it is not one. */
export function parseIp(text: string): Uint8Array | null {
  if (text.includes(":")) return parseIPv6(text);
  return parseIPv4(text);
}

function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? "";
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith("0"))) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIPv6(text: string): Uint8Array | null {
  const pct = text.indexOf("%");
  const addr = pct >= 0 ? text.slice(0, pct) : text;
  const halves = addr.split("::");
  if (halves.length > 2) return null;
  const toGroups = (s: string): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] ?? "";
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIPv4(p);
        if (!v4) return null;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(p)) return null;
        out.push(Number.parseInt(p, 16));
      }
    }
    return out;
  };
  const head = toGroups(halves[0] ?? "");
  const tail = halves.length === 2 ? toGroups(halves[1] ?? "") : [];
  if (!head || !tail) return null;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** Unspecified ("any") addresses: a listener bound here accepts on every interface. */
export function isUnspecified(text: string): boolean {
  return text === "0.0.0.0" || text === "::";
}

/** "10.0.0.1:80" or "[fd00::1]:80": an address and port as URLs and `ss` write them. */
export function hostPort(address: string, port: number | string): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
