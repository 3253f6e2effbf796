/**
 * Interfaces, routes and protocol counters, per network namespace, read through one pid
 * of each namespace like the socket tables.
 */
import { join } from "node:path";
import {
  type InterfaceCounters,
  type KeyCounters,
  keyCounters,
  type ProtocolCounters,
  parseCounterPairs,
  parseIPv6Routes,
  parseNetDev,
  parseRoutes,
  type Route,
} from "../core/netinfo.js";
import type { Malformed, ParseResult } from "../core/procnet.js";
import { enumerateProcesses, readNamespaceNames } from "./collect.js";
import { emptyDiagnostics, noteFailure, noteMalformed, type ScanDiagnostics } from "./diagnostics.js";
import type { ProcPaths } from "./paths.js";
import { readProcFile } from "./read.js";

export interface NamespaceNetInfo {
  netns: number;
  netnsName?: string;
  pid: number;
  interfaces: InterfaceCounters[];
  routes: Route[];
  counters: KeyCounters;
  /** Every counter of /proc/net/snmp and /proc/net/netstat, by group. */
  allCounters: ProtocolCounters;
}

export interface NetInfoResult {
  namespaces: NamespaceNetInfo[];
  diagnostics: ScanDiagnostics;
}

async function readOptional(file: string, diag: ScanDiagnostics): Promise<string | null> {
  try {
    return await readProcFile(file);
  } catch (err) {
    // Counted unless the process exited (then the caller tries another of the namespace).
    noteFailure(diag, file, err);
    return null;
  }
}

function keep<T>(r: ParseResult<T>, diag: ScanDiagnostics): T[] {
  noteMalformed(diag, r.malformed as Malformed[]);
  return r.records;
}

export async function collectNetInfo(options: {
  paths: ProcPaths;
  netns?: ReadonlySet<number>;
}): Promise<NetInfoResult> {
  const paths = options.paths;
  const diag = emptyDiagnostics();
  const { pidsByNetns } = enumerateProcesses(paths.proc, diag, options.netns);
  const names = readNamespaceNames(paths.runNetns);
  const namespaces = await Promise.all(
    [...pidsByNetns].map(async ([netns, pids]): Promise<NamespaceNetInfo | null> => {
      for (const pid of pids) {
        const dir = join(paths.proc, String(pid), "net");
        const read = (f: string) => readOptional(join(dir, f), diag);
        const [dev, route, route6, snmp, netstat] = await Promise.all([
          read("dev"),
          read("route"),
          read("ipv6_route"),
          read("snmp"),
          read("netstat"),
        ]);
        if (dev === null) continue; // this pid exited: try the next one of the namespace
        const counters: ProtocolCounters = {};
        for (const [text, name] of [
          [snmp, "snmp"],
          [netstat, "netstat"],
        ] as const) {
          if (text === null) continue;
          for (const groups of keep(parseCounterPairs(text, join(dir, name)), diag))
            Object.assign(counters, groups);
        }
        const info: NamespaceNetInfo = {
          netns,
          pid,
          interfaces: keep(parseNetDev(dev, join(dir, "dev")), diag),
          routes: [
            ...(route === null ? [] : keep(parseRoutes(route, join(dir, "route")), diag)),
            ...(route6 === null ? [] : keep(parseIPv6Routes(route6, join(dir, "ipv6_route")), diag)),
          ],
          counters: keyCounters(counters),
          allCounters: counters,
        };
        const name = names.get(netns);
        if (name) info.netnsName = name;
        return info;
      }
      return null;
    }),
  );
  return { namespaces: namespaces.filter((n): n is NamespaceNetInfo => n !== null), diagnostics: diag };
}
