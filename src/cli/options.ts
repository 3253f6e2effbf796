/** Flag parsing shared by the commands: one place that turns strings into typed filters. */
import { normalizeStateName, type SocketFilter } from "../core/filter.js";
import type { Protocol } from "../core/socket.js";
import { type Cidr, parseCidr } from "../net/cidr.js";
import { ALL_STATE_NAMES } from "../net/states.js";
import { hostNetnsInode, netnsInodeByName } from "../procfs/netns.js";
import type { ProcPaths } from "../procfs/paths.js";
import { UsageError } from "./errors.js";

export type OutputFormat = "table" | "wide" | "json" | "yaml" | "ndjson";

/** Every format a list of sockets (or rows) can be printed in. */
export const SOCKET_FORMATS: readonly OutputFormat[] = ["table", "wide", "json", "yaml", "ndjson"];

export function parseOutput(
  value: string | undefined,
  allowed: readonly OutputFormat[] = SOCKET_FORMATS,
): OutputFormat {
  const v = (value ?? "table") as OutputFormat;
  if (!allowed.includes(v))
    throw new UsageError(`-o/--output: "${value}" is not one of ${allowed.join(", ")}`);
  return v;
}

/**
 * `-o yaml`: the same document as `-o json`, as YAML (kubectl's habit). The yaml library is
 * loaded only here: a table scan does not pay for it (issue 13: start-up). It double-quotes
 * and escapes control characters in values, as JSON does (docs/output.md).
 */
export async function toYaml(value: unknown): Promise<string> {
  const { stringify } = await import("yaml");
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value : [value];
  return values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
}

const PROTOCOLS: readonly Protocol[] = ["tcp", "udp", "raw", "unix"];

export function parseProtocols(value: string | string[] | undefined): Set<Protocol> | undefined {
  const items = list(value);
  if (items.length === 0) return undefined;
  for (const p of items) {
    if (!PROTOCOLS.includes(p as Protocol))
      throw new UsageError(`--proto: "${p}" is not one of ${PROTOCOLS.join(", ")}`);
  }
  return new Set(items as Protocol[]);
}

function parseIntList(
  flag: string,
  value: string | string[] | undefined,
  max: number,
): Set<number> | undefined {
  const items = list(value);
  if (items.length === 0) return undefined;
  const out = new Set<number>();
  for (const item of items) {
    if (!/^\d+$/.test(item) || Number(item) > max)
      throw new UsageError(`${flag}: "${item}" is not a number between 0 and ${max}`);
    out.add(Number(item));
  }
  return out;
}

/** --netns takes a namespace inode, a name under /run/netns, or `host` (pid 1's, as tables name it). */
export function parseNetns(
  value: string | string[] | undefined,
  paths: Pick<ProcPaths, "runNetns" | "proc">,
): Set<number> | undefined {
  const items = list(value);
  if (items.length === 0) return undefined;
  const { runNetns } = paths;
  const out = new Set<number>();
  for (const item of items) {
    if (/^\d+$/.test(item)) {
      out.add(Number(item));
      continue;
    }
    if (item === "host") {
      const host = hostNetnsInode(paths);
      if (host === undefined)
        throw new UsageError(
          `--netns: cannot tell the host's namespace (${paths.proc}/1/ns/net is not readable)`,
        );
      out.add(host);
      continue;
    }
    if (item.includes("/") || item.startsWith("."))
      throw new UsageError(`--netns: "${item}" is not a namespace inode or a name under ${runNetns}`);
    const inode = netnsInodeByName(paths, item);
    if (inode === undefined)
      throw new UsageError(
        `--netns: no namespace named "${item}" under ${runNetns} (give its inode, or a name from \`ip netns list\`)`,
      );
    out.add(inode);
  }
  return out;
}

export function parseStates(value: string | string[] | undefined): Set<string> | undefined {
  const items = list(value);
  if (items.length === 0) return undefined;
  const out = new Set<string>();
  for (const item of items) {
    const s = normalizeStateName(item);
    if (!ALL_STATE_NAMES.includes(s))
      throw new UsageError(`--state: "${item}" is not a socket state (one of ${ALL_STATE_NAMES.join(", ")})`);
    out.add(s);
  }
  return out;
}

export function parseMasks(value: string | string[] | undefined, env: NodeJS.ProcessEnv): Cidr[] {
  const items = [...list(value), ...list(env.SOCKLENS_MASK)];
  return items.map((item) => {
    try {
      return parseCidr(item);
    } catch (err) {
      throw new UsageError(`--mask: ${(err as Error).message}`);
    }
  });
}

export interface FilterFlags {
  listening?: boolean | undefined;
  state?: string | string[];
  proto?: string | string[];
  pid?: string | string[];
  netns?: string | string[];
  container?: string;
  "pod-uid"?: string;
  port?: string | string[];
}

export function parseFilter(flags: FilterFlags, paths: Pick<ProcPaths, "runNetns" | "proc">): SocketFilter {
  const f: SocketFilter = {};
  if (flags.listening) f.listening = true;
  const states = parseStates(flags.state);
  if (states) f.states = states;
  const protocols = parseProtocols(flags.proto);
  if (protocols) f.protocols = protocols;
  const pids = parseIntList("--pid", flags.pid, 2 ** 31);
  if (pids) f.pids = pids;
  const netns = parseNetns(flags.netns, paths);
  if (netns) f.netns = netns;
  if (flags.container !== undefined) {
    if (!/^[0-9a-f]{4,64}$/.test(flags.container))
      throw new UsageError(
        `--container: "${flags.container}" is not a container id or an id prefix of at least 4 hex digits`,
      );
    f.container = flags.container;
  }
  if (flags["pod-uid"] !== undefined) {
    const uid = flags["pod-uid"].toLowerCase().replaceAll("_", "-");
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uid))
      throw new UsageError(`--pod-uid: "${flags["pod-uid"]}" is not a pod UID (8-4-4-4-12 hex digits)`);
    f.podUid = uid;
  }
  const ports = parseIntList("--port", flags.port, 65535);
  if (ports) f.ports = ports;
  return f;
}

/** parseArgs option specs for the filter flags, shared by scan/check/learn. */
export const FILTER_OPTIONS = {
  listening: { type: "boolean", short: "l" },
  state: { type: "string", multiple: true },
  proto: { type: "string", multiple: true },
  pid: { type: "string", multiple: true },
  netns: { type: "string", multiple: true },
  container: { type: "string" },
  "pod-uid": { type: "string" },
  port: { type: "string", multiple: true },
} as const;
