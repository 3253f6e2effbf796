/** `socklens scan`: the netstat-like view of every namespace's sockets. */
import { parseArgs } from "node:util";
import { matchesFilter } from "../core/filter.js";
import { maskSocket } from "../core/mask.js";
import { renderSocketTable, renderSummary, summarize } from "../core/render.js";
import type { Socket } from "../core/socket.js";
import { collectSockets } from "../procfs/collect.js";
import { procPathsFromEnv } from "../procfs/paths.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS, loadCluster } from "./cluster-flags.js";
import { reportDiagnostics } from "./diagnostics.js";
import { EXIT_OK } from "./errors.js";
import type { CliIO } from "./io.js";
import { FILTER_OPTIONS, parseFilter, parseMasks, parseOutput } from "./options.js";

export const SCAN_HELP = `Usage: socklens scan [filters] [-o table|wide|json|ndjson] [--summary]

Lists every socket of every network namespace on this host, with the process,
container and pod that hold it.

Filters:
  -l, --listening        listening TCP sockets and unconnected UDP/raw sockets
      --state S[,S…]     socket states (LISTEN, ESTABLISHED, CLOSE_WAIT, TIME_WAIT, …)
      --proto P[,P…]     tcp, udp, raw, unix (default: all)
      --pid PID[,…]      sockets held by these processes
      --netns NS[,…]     namespace inode, or a name under /run/netns
      --container ID     container id or a prefix of it
      --pod-uid UID      Kubernetes pod UID
      --port N[,…]       local or remote port
Output:
  -o, --output FORMAT    table (default), wide, json, ndjson (one socket per line)
      --summary          socket counts by state per namespace and container
      --mask CIDR[,…]    mask addresses in these ranges in every output (also SOCKLENS_MASK)
      --debug            show malformed /proc lines and processes that exited mid-scan

${CLUSTER_HELP}`;

export async function scanCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...FILTER_OPTIONS,
      output: { type: "string", short: "o" },
      summary: { type: "boolean" },
      mask: { type: "string", multiple: true },
      debug: { type: "boolean" },
      ...CLUSTER_OPTIONS,
    },
    strict: true,
    allowPositionals: false,
  });
  const format = parseOutput(values.output);
  const paths = procPathsFromEnv(io.env);
  const filter = parseFilter(values, paths);
  const masks = parseMasks(values.mask, io.env);
  const scanOptions: Parameters<typeof collectSockets>[0] = { paths };
  if (filter.protocols) scanOptions.protocols = filter.protocols;
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

  if (values.summary) {
    const rows = summarize(sockets);
    if (format === "json") io.out(`${JSON.stringify(rows, null, 2)}\n`);
    else if (format === "ndjson") io.out(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
    else io.out(`${renderSummary(rows)}\n`);
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
  } else if (format === "json") {
    io.out(
      `${JSON.stringify({ sockets, namespaces: result.namespaces, diagnostics: result.diagnostics }, null, 2)}\n`,
    );
  } else {
    io.out(`${renderSocketTable(sockets, { wide: format === "wide" })}\n`);
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
