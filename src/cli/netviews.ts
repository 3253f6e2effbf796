/** `socklens interfaces`, `routes` and `stats`: the other per-namespace views. */
import { maskAddress } from "../core/mask.js";
import { netnsCell, renderTable } from "../core/render.js";
import { collectNetInfo, type NamespaceNetInfo } from "../procfs/netinfo.js";
import { hostNetnsInode } from "../procfs/netns.js";
import { procPathsFromEnv } from "../procfs/paths.js";
import { reportDiagnostics } from "./diagnostics.js";
import { EXIT_OK } from "./errors.js";
import { parseFlags } from "./flags.js";
import type { CliIO } from "./io.js";
import { parseMasks, parseNetns, parseOutput, toYaml } from "./options.js";

export const NETVIEW_HELP = `Usage: socklens interfaces|routes|stats [--netns NS[,…]] [-o table|wide|json|yaml|ndjson] [--mask CIDR]

  interfaces   per-interface byte, packet, error and drop counters (/proc/net/dev)
  routes       IPv4 and IPv6 routes (/proc/net/route, /proc/net/ipv6_route)
  stats        TCP/UDP counters: retransmits, resets, listen overflows and drops
               (/proc/net/snmp, /proc/net/netstat); -o json/yaml include every counter
`;

type View = "interfaces" | "routes" | "stats";

export const NETVIEW_OPTIONS = {
  netns: { type: "string", multiple: true },
  output: { type: "string", short: "o" },
  mask: { type: "string", multiple: true },
  debug: { type: "boolean" },
} as const;

export async function netViewCommand(view: View, args: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(args, NETVIEW_OPTIONS);
  const format = parseOutput(values.output);
  const paths = procPathsFromEnv(io.env);
  const netns = parseNetns(values.netns, paths);
  const masks = parseMasks(values.mask, io.env);
  const result = await collectNetInfo(netns ? { netns, paths } : { paths });
  reportDiagnostics(result.diagnostics, io, values.debug ?? false);
  const namespaces = result.namespaces.sort((a, b) => a.netns - b.netns);

  const records = namespaces.flatMap((n): object[] => {
    const base = n.netnsName ? { netns: n.netns, netnsName: n.netnsName } : { netns: n.netns };
    if (view === "interfaces") return n.interfaces.map((i) => ({ ...base, ...i }));
    if (view === "routes") {
      return n.routes.map((r) => ({
        ...base,
        ...r,
        destination: maskAddress(r.destination, masks),
        gateway: maskAddress(r.gateway, masks),
      }));
    }
    return [
      { ...base, ...n.counters, ...(format === "json" || format === "yaml" ? { all: n.allCounters } : {}) },
    ];
  });
  if (format === "json" || format === "yaml") {
    io.out(format === "json" ? `${JSON.stringify(records, null, 2)}\n` : await toYaml(records));
    return EXIT_OK;
  }
  if (format === "ndjson") {
    io.out(records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    return EXIT_OK;
  }
  // The host's namespace is called `host`, as in the scan table (docs/cli.md).
  const host = hostNetnsInode(paths);
  const label = (n: NamespaceNetInfo) => netnsCell(n, host);
  io.out(`${renderView(view, namespaces, masks.length ? (a) => maskAddress(a, masks) : (a) => a, label)}\n`);
  return EXIT_OK;
}

function renderView(
  view: View,
  namespaces: NamespaceNetInfo[],
  mask: (a: string) => string,
  netnsLabel: (n: NamespaceNetInfo) => string,
): string {
  if (view === "interfaces") {
    return renderTable(
      [
        "Netns",
        "Iface",
        "RX-Bytes",
        "RX-Pkts",
        "RX-Err",
        "RX-Drop",
        "TX-Bytes",
        "TX-Pkts",
        "TX-Err",
        "TX-Drop",
      ],
      namespaces.flatMap((n) =>
        n.interfaces.map((i) => [
          netnsLabel(n),
          i.name,
          ...[
            i.rxBytes,
            i.rxPackets,
            i.rxErrors,
            i.rxDropped,
            i.txBytes,
            i.txPackets,
            i.txErrors,
            i.txDropped,
          ].map(String),
        ]),
      ),
    );
  }
  if (view === "routes") {
    return renderTable(
      ["Netns", "Destination", "Gateway", "Iface", "Metric", "Flags"],
      namespaces.flatMap((n) =>
        n.routes.map((r) => [
          netnsLabel(n),
          `${mask(r.destination)}/${r.prefixLength}`,
          r.gateway === "0.0.0.0" || r.gateway === "::" ? "*" : mask(r.gateway),
          r.interface,
          String(r.metric),
          r.flags.join(""),
        ]),
      ),
    );
  }
  const cols = [
    ["tcpRetransSegs", "Retrans"],
    ["tcpOutRsts", "OutRsts"],
    ["tcpEstabResets", "EstabResets"],
    ["tcpAttemptFails", "AttemptFails"],
    ["tcpCurrEstab", "CurrEstab"],
    ["tcpListenOverflows", "ListenOverflows"],
    ["tcpListenDrops", "ListenDrops"],
    ["tcpTimeouts", "Timeouts"],
    ["udpInErrors", "UdpInErrors"],
    ["udpRcvbufErrors", "UdpRcvbufErrors"],
  ] as const;
  return renderTable(
    ["Netns", ...cols.map(([, h]) => h)],
    namespaces.map((n) => [netnsLabel(n), ...cols.map(([k]) => String(n.counters[k] ?? "-"))]),
  );
}
