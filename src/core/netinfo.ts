/**
 * Pure parsers for the other per-namespace views: /proc/net/dev, /proc/net/route,
 * /proc/net/ipv6_route, /proc/net/snmp and /proc/net/netstat. Malformed lines are
 * returned, never thrown.
 */
import { decodeProcAddress, formatAddress } from "../net/address.js";
import type { Malformed, ParseResult } from "./procnet.js";

export interface InterfaceCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

export function parseNetDev(text: string, file = "dev"): ParseResult<InterfaceCounters> {
  const records: InterfaceCounters[] = [];
  const malformed: Malformed[] = [];
  const lines = text.split("\n");
  // Two header lines, then `name: 16 counters`.
  for (let n = 2; n < lines.length; n++) {
    const raw = lines[n] ?? "";
    if (raw.trim() === "") continue;
    const colon = raw.indexOf(":");
    const nums =
      colon >= 0
        ? raw
            .slice(colon + 1)
            .trim()
            .split(/\s+/)
        : [];
    if (colon < 0 || nums.length < 16 || nums.some((x) => !/^\d+$/.test(x))) {
      malformed.push({ file, line: n + 1, text: raw, reason: "expected 'name: 16 decimal counters'" });
      continue;
    }
    const v = nums.map(Number);
    records.push({
      name: raw.slice(0, colon).trim(),
      rxBytes: v[0] ?? 0,
      rxPackets: v[1] ?? 0,
      rxErrors: v[2] ?? 0,
      rxDropped: v[3] ?? 0,
      txBytes: v[8] ?? 0,
      txPackets: v[9] ?? 0,
      txErrors: v[10] ?? 0,
      txDropped: v[11] ?? 0,
    });
  }
  return { records, malformed };
}

export interface Route {
  family: "inet" | "inet6";
  destination: string;
  prefixLength: number;
  gateway: string;
  interface: string;
  metric: number;
  flags: string[];
}

// RTF_* from include/uapi/linux/route.h.
const ROUTE_FLAGS: [number, string][] = [
  [0x0001, "U"],
  [0x0002, "G"],
  [0x0004, "H"],
  [0x0008, "R"],
  [0x0010, "D"],
  [0x0020, "M"],
  [0x0200, "!"],
];

function flagNames(flags: number): string[] {
  return ROUTE_FLAGS.filter(([bit]) => flags & bit).map(([, name]) => name);
}

function popcount32(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v >>>= 1) n += v & 1;
  return n;
}

/** /proc/net/route: addresses are little-endian hex like the socket tables. */
export function parseRoutes(text: string, file = "route"): ParseResult<Route> {
  const records: Route[] = [];
  const malformed: Malformed[] = [];
  const lines = text.split("\n");
  for (let n = 1; n < lines.length; n++) {
    const raw = lines[n] ?? "";
    if (raw.trim() === "") continue;
    const f = raw.trim().split(/\s+/);
    const dest = decodeProcAddress(f[1] ?? "");
    const gw = decodeProcAddress(f[2] ?? "");
    const mask = f[7] ?? "";
    if (
      f.length < 8 ||
      dest === null ||
      gw === null ||
      !/^[0-9A-Fa-f]{8}$/.test(mask) ||
      !/^[0-9A-Fa-f]+$/.test(f[3] ?? "")
    ) {
      malformed.push({
        file,
        line: n + 1,
        text: raw,
        reason: "expected 'Iface Destination Gateway Flags RefCnt Use Metric Mask …' with hex fields",
      });
      continue;
    }
    records.push({
      family: "inet",
      destination: dest,
      prefixLength: popcount32(Number.parseInt(mask, 16)),
      gateway: gw,
      interface: f[0] ?? "",
      metric: Number(f[6]),
      flags: flagNames(Number.parseInt(f[3] ?? "0", 16)),
    });
  }
  return { records, malformed };
}

/** /proc/net/ipv6_route: addresses are plain network-order hex (printed with %pi6), no header. */
export function parseIPv6Routes(text: string, file = "ipv6_route"): ParseResult<Route> {
  const records: Route[] = [];
  const malformed: Malformed[] = [];
  const lines = text.split("\n");
  const v6 = (hex: string): string | null => {
    if (!/^[0-9a-fA-F]{32}$/.test(hex)) return null;
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 16; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    return formatAddress(bytes);
  };
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n] ?? "";
    if (raw.trim() === "") continue;
    const f = raw.trim().split(/\s+/);
    const dest = v6(f[0] ?? "");
    const gw = v6(f[4] ?? "");
    if (f.length < 10 || dest === null || gw === null || !/^[0-9a-fA-F]{2}$/.test(f[1] ?? "")) {
      malformed.push({
        file,
        line: n + 1,
        text: raw,
        reason: "expected 10 columns: dest plen src splen gateway metric refcnt use flags iface",
      });
      continue;
    }
    records.push({
      family: "inet6",
      destination: dest,
      prefixLength: Number.parseInt(f[1] ?? "0", 16),
      gateway: gw,
      interface: f[9] ?? "",
      metric: Number.parseInt(f[5] ?? "0", 16),
      flags: flagNames(Number.parseInt(f[8] ?? "0", 16)),
    });
  }
  return { records, malformed };
}

/** Counters from /proc/net/snmp or /proc/net/netstat: `Group: names…` then `Group: values…`. */
export type ProtocolCounters = Record<string, Record<string, number>>;

export function parseCounterPairs(text: string, file = "snmp"): ParseResult<ProtocolCounters> {
  const out: ProtocolCounters = {};
  const malformed: Malformed[] = [];
  const lines = text.split("\n");
  for (let n = 0; n + 1 < lines.length; n += 2) {
    const header = lines[n] ?? "";
    const values = lines[n + 1] ?? "";
    if (header.trim() === "") {
      n -= 1; // a stray blank line: re-align on the next one
      continue;
    }
    const hc = header.indexOf(":");
    const vc = values.indexOf(":");
    const group = header.slice(0, hc);
    if (hc < 0 || vc < 0 || values.slice(0, vc) !== group) {
      malformed.push({
        file,
        line: n + 1,
        text: header,
        reason: "expected a header line and a value line for the same group",
      });
      continue;
    }
    const names = header
      .slice(hc + 1)
      .trim()
      .split(/\s+/);
    const nums = values
      .slice(vc + 1)
      .trim()
      .split(/\s+/);
    if (names.length !== nums.length) {
      malformed.push({
        file,
        line: n + 2,
        text: values,
        reason: `${names.length} names but ${nums.length} values`,
      });
      continue;
    }
    // Names are keys: only own properties are read, and "__proto__" is never written (a
    // group of that name, or "constructor", would otherwise write into Object.prototype or
    // Object itself, for the whole process).
    if (group === "__proto__") {
      malformed.push({ file, line: n + 1, text: header, reason: "group name __proto__" });
      continue;
    }
    const g: Record<string, number> = Object.hasOwn(out, group) ? (out[group] as Record<string, number>) : {};
    names.forEach((name, i) => {
      const v = Number(nums[i]);
      if (Number.isFinite(v) && name !== "__proto__") g[name] = v;
    });
    out[group] = g;
  }
  return { records: [out], malformed };
}

/** The counters an on-call engineer asks for first, pulled out of snmp + netstat. */
export interface KeyCounters {
  tcpRetransSegs?: number;
  tcpOutRsts?: number;
  tcpEstabResets?: number;
  tcpAttemptFails?: number;
  tcpCurrEstab?: number;
  tcpListenOverflows?: number;
  tcpListenDrops?: number;
  tcpTimeouts?: number;
  udpInErrors?: number;
  udpRcvbufErrors?: number;
}

export function keyCounters(c: ProtocolCounters): KeyCounters {
  const pick = (group: string, name: string) => c[group]?.[name];
  const out: KeyCounters = {
    tcpRetransSegs: pick("Tcp", "RetransSegs"),
    tcpOutRsts: pick("Tcp", "OutRsts"),
    tcpEstabResets: pick("Tcp", "EstabResets"),
    tcpAttemptFails: pick("Tcp", "AttemptFails"),
    tcpCurrEstab: pick("Tcp", "CurrEstab"),
    tcpListenOverflows: pick("TcpExt", "ListenOverflows"),
    tcpListenDrops: pick("TcpExt", "ListenDrops"),
    tcpTimeouts: pick("TcpExt", "TCPTimeouts"),
    udpInErrors: pick("Udp", "InErrors"),
    udpRcvbufErrors: pick("Udp", "RcvbufErrors"),
  };
  for (const k of Object.keys(out) as (keyof KeyCounters)[]) if (out[k] === undefined) delete out[k];
  return out;
}
