/** `socklens scan`: the netstat-like view of every namespace's sockets. */
import { matchesFilter } from "../core/filter.js";
import { maskSocket } from "../core/mask.js";
import { renderSocketTable, renderSummary, summarize } from "../core/render.js";
import type { Protocol, Socket } from "../core/socket.js";
import { collectSockets } from "../procfs/collect.js";
import { hostNetnsInode } from "../procfs/netns.js";
import { procPathsFromEnv } from "../procfs/paths.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS, loadCluster } from "./cluster-flags.js";
import { reportDiagnostics } from "./diagnostics.js";
import { EXIT_OK } from "./errors.js";
import { parseFlags } from "./flags.js";
import type { CliIO } from "./io.js";
import {
  FILTER_OPTIONS,
  parseFilter,
  parseMasks,
  parseOutput,
  parseProtocols,
  SOCKET_FORMATS,
  toYaml,
} from "./options.js";

export const SCAN_HELP = `Usage: socklens scan [-tuwxlaenps] [filters] [-o table|wide|json|yaml|ndjson] [--summary]

Lists the sockets of every network namespace on this host, with the process, container
and pod that hold them. Like netstat -tuwanp / ss -tuwanp: TCP, UDP and raw sockets in
every state; unix sockets only when asked (-x, --proto unix, or -a).

netstat/ss flags (combinable: socklens scan -tlnp; differences: docs/cli.md):
  -t, --tcp              TCP sockets          -u, --udp        UDP sockets
  -w, --raw              raw sockets          -x, --unix       unix sockets
  -l, --listening        listening TCP sockets and unconnected UDP/raw sockets
  -a, --all              every state (the default) and, without -t/-u/-w/-x, unix sockets too
  -e, --extended         the wide table (UID, inode, command line)
  -s, --summary          socket counts by state per namespace and container (as ss -s)
  -n, --numeric          accepted; socklens never resolves names, addresses are always numeric
  -p, --processes        accepted; the holding process is always shown
Filters:
      --state S[,S…]     socket states (LISTEN, ESTABLISHED, CLOSE_WAIT, TIME_WAIT, …)
      --proto P[,P…]     tcp, udp, raw, unix (default: tcp, udp, raw)
      --pid PID[,…]      sockets held by these processes
      --netns NS[,…]     namespace inode, a name under /run/netns, or "host"
      --container ID     container id or a prefix of it
      --pod-uid UID      Kubernetes pod UID
      --port N[,…]       local or remote port
Output:
  -o, --output FORMAT    table (default), wide, json, yaml, ndjson (one socket per line)
      --mask CIDR[,…]    mask addresses in these ranges in every output (also SOCKLENS_MASK)
      --debug            show malformed /proc lines and processes that exited mid-scan

Booleans also take --no-FLAG and --FLAG=true|false.

${CLUSTER_HELP}`;

/** The netstat/ss short flags, with ss's long names. */
export const NETSTAT_OPTIONS = {
  tcp: { type: "boolean", short: "t" },
  udp: { type: "boolean", short: "u" },
  raw: { type: "boolean", short: "w" },
  unix: { type: "boolean", short: "x" },
  all: { type: "boolean", short: "a" },
  extended: { type: "boolean", short: "e" },
  numeric: { type: "boolean", short: "n" },
  processes: { type: "boolean", short: "p" },
  summary: { type: "boolean", short: "s" },
} as const;

export const SCAN_OPTIONS = {
  ...FILTER_OPTIONS,
  ...NETSTAT_OPTIONS,
  output: { type: "string", short: "o" },
  mask: { type: "string", multiple: true },
  debug: { type: "boolean" },
  ...CLUSTER_OPTIONS,
} as const;

/**
 * Which protocols a scan reads: -t/-u/-w/-x and --proto add up; with none of them, TCP, UDP
 * and raw, plus unix with -a (netstat -a and ss -a list unix sockets too; netstat -tan and
 * a plain ss leave them out, and a host's hundreds of unix sockets bury the few inet ones).
 */
export function scanProtocols(values: {
  tcp?: boolean;
  udp?: boolean;
  raw?: boolean;
  unix?: boolean;
  all?: boolean;
  proto?: string | string[];
}): Set<Protocol> {
  const out = new Set<Protocol>(parseProtocols(values.proto) ?? []);
  if (values.tcp) out.add("tcp");
  if (values.udp) out.add("udp");
  if (values.raw) out.add("raw");
  if (values.unix) out.add("unix");
  if (out.size === 0) for (const p of values.all ? ALL_PROTOCOLS : DEFAULT_PROTOCOLS) out.add(p);
  return out;
}

const DEFAULT_PROTOCOLS: readonly Protocol[] = ["tcp", "udp", "raw"];
const ALL_PROTOCOLS: readonly Protocol[] = ["tcp", "udp", "raw", "unix"];

export async function scanCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(args, SCAN_OPTIONS);
  // -e is "more columns": it widens the table and leaves -o json/yaml/ndjson alone.
  const format = parseOutput(values.output ?? (values.extended ? "wide" : undefined), SOCKET_FORMATS);
  const paths = procPathsFromEnv(io.env);
  const filter = parseFilter({ ...values, proto: undefined }, paths);
  filter.protocols = scanProtocols(values);
  const masks = parseMasks(values.mask, io.env);
  const scanOptions: Parameters<typeof collectSockets>[0] = { paths, protocols: filter.protocols };
  // Direction and listeners need the whole namespace, but reading fewer namespaces is a pure win.
  if (filter.netns) scanOptions.netns = filter.netns;
  const cluster = await loadCluster(values, io);
  const result = await collectSockets(scanOptions);
  reportDiagnostics(result.diagnostics, io, values.debug ?? false);
  cluster?.enrichInPlace(result.sockets);
  const sockets: Socket[] = result.sockets
    .filter((s) => matchesFilter(s, filter))
    .map((s) => maskSocket(s, masks));
  sortSockets(sockets);
  const hostNetns = hostNetnsInode(paths);

  if (values.summary) {
    const rows = summarize(sockets);
    if (format === "json") io.out(`${JSON.stringify(rows, null, 2)}\n`);
    else if (format === "yaml") io.out(await toYaml(rows));
    else if (format === "ndjson") io.out(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
    else io.out(`${renderSummary(rows, hostNetns)}\n`);
    return EXIT_OK;
  }
  if (format === "ndjson") {
    // One write per chunk: a 40k-socket scan must not make 40k syscalls.
    const chunk: string[] = [];
    for (const s of sockets) {
      chunk.push(JSON.stringify(s));
      if (chunk.length === 1000) {
        io.out(`${chunk.join("\n")}\n`);
        chunk.length = 0;
      }
    }
    if (chunk.length) io.out(`${chunk.join("\n")}\n`);
  } else if (format === "json" || format === "yaml") {
    const doc = { sockets, namespaces: result.namespaces, diagnostics: result.diagnostics };
    io.out(format === "json" ? `${JSON.stringify(doc, null, 2)}\n` : await toYaml(doc));
  } else {
    io.out(
      `${renderSocketTable(sockets, {
        wide: format === "wide",
        peer: cluster !== undefined,
        ...(hostNetns !== undefined ? { hostNetns } : {}),
      })}\n`,
    );
  }
  return EXIT_OK;
}

const PROTO_ORDER = { tcp: 0, udp: 1, raw: 2, unix: 3 } as const;

/** Stable order: namespace, protocol, listeners first, then by local port. */
export function sortSockets(sockets: Socket[]): void {
  sockets.sort(
    (a, b) =>
      a.netns - b.netns ||
      PROTO_ORDER[a.protocol] - PROTO_ORDER[b.protocol] ||
      Number(b.state === "LISTEN") - Number(a.state === "LISTEN") ||
      a.localPort - b.localPort ||
      a.remotePort - b.remotePort ||
      a.inode - b.inode,
  );
}
