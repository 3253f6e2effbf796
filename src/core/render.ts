/** Text renderings of sockets and summaries: the netstat-like table a human reads. */
import { hostPort } from "../net/address.js";
import { escapeText } from "./escape.js";
import { identityText } from "./identity.js";
import { netnsLabel, type Socket } from "./socket.js";

export function endpoint(address: string, port: number, family: Socket["family"]): string {
  if (family === "unix") return address === "" ? "*" : address;
  return hostPort(address, port === 0 ? "*" : port);
}

/**
 * Columns padded to their widest cell. Every cell is escaped here (src/core/escape.ts): cells
 * carry raw values (process names, paths, finding messages), and this is where they meet the
 * terminal, so a newline or ESC in a value can neither add a row nor colour the screen.
 * Loops, not `Math.max(...cells)`: a spread of a million rows overflows the call stack.
 */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h) => h.length);
  for (const r of rows) {
    for (let i = 0; i < widths.length; i++) {
      const n = escapeText(r[i] ?? "").length;
      if (n > (widths[i] ?? 0)) widths[i] = n;
    }
  }
  const line = (cells: string[]) => {
    let out = "";
    for (let i = 0; i < cells.length; i++) {
      const c = escapeText(cells[i] ?? "");
      out += i === cells.length - 1 ? c : `${c.padEnd(widths[i] ?? 0)}  `;
    }
    return out.trimEnd();
  };
  const lines = new Array<string>(rows.length + 1);
  lines[0] = line(headers);
  for (let i = 0; i < rows.length; i++) lines[i + 1] = line(rows[i] as string[]);
  return lines.join("\n");
}

function ownerCell(s: Socket): string {
  if (s.pid === undefined) return "-";
  const extra = s.processes && s.processes.length > 1 ? ` (+${s.processes.length - 1})` : "";
  return `${s.pid}/${s.process ?? "?"}${extra}`;
}

function containerCell(s: Socket): string {
  const parts: string[] = [];
  if (s.container) parts.push(s.container.id.slice(0, 12));
  if (s.pod)
    parts.push(s.pod.name && s.pod.namespace ? `${s.pod.namespace}/${s.pod.name}` : `pod:${s.pod.uid}`);
  return parts.length ? parts.join(" ") : "-";
}

function peerCell(s: Socket): string {
  const r = s.remote;
  if (!r) return "-";
  return identityText(r, "/");
}

/**
 * How a table names a network namespace: `host` for the host's (pid 1's), else its inode with
 * its `ip netns` name when it has one. The inode stays visible for named namespaces: a name
 * is chosen by whoever ran `ip netns add`, the inode is what the kernel says.
 */
export function netnsCell(n: { netns: number; netnsName?: string }, hostNetns?: number): string {
  if (hostNetns !== undefined && n.netns === hostNetns) return n.netnsName ? `host(${n.netnsName})` : "host";
  return netnsLabel(n);
}

export interface SocketTableOptions {
  /** -o wide: UID, Inode and Command too. */
  wide?: boolean;
  /** The host's network namespace inode, shown as `host`. */
  hostNetns?: number;
  /**
   * Cluster knowledge was asked for: add the Peer column. Decided by the flag, not by the
   * data, so the same command gives the same columns on every host.
   */
  peer?: boolean;
}

function queueCell(n: number | undefined): string {
  return n === undefined ? "-" : String(n);
}

/**
 * The default table, netstat's columns first (Recv-Q and Send-Q: a CLOSE_WAIT with bytes
 * waiting is the signal), then ours. The columns are the same on every host whatever it
 * holds (issue 14): a column that appears only when there is a second namespace or a
 * container would move every other column, and break `awk '{print $5}'`.
 * The wide view adds UID (always the number: see docs/cli.md), Inode and Command.
 */
export function renderSocketTable(sockets: Socket[], options: SocketTableOptions = {}): string {
  const headers = [
    "Proto",
    "Recv-Q",
    "Send-Q",
    "Local Address",
    "Foreign Address",
    "State",
    "PID/Program",
    "Netns",
    "Container/Pod",
  ];
  const showPeer = options.peer ?? sockets.some((s) => s.remote);
  if (showPeer) headers.push("Peer");
  if (options.wide) headers.push("UID", "Inode", "Command");
  const rows = sockets.map((s) => {
    const proto = s.family === "inet6" ? `${s.protocol}6` : s.protocol;
    const row = [
      proto,
      queueCell(s.rxQueue),
      queueCell(s.txQueue),
      // A unix record a socket name may have forged says so where its name is (ADR 0006).
      s.ambiguous
        ? `${endpoint(s.localAddress, s.localPort, s.family)} (ambiguous)`
        : endpoint(s.localAddress, s.localPort, s.family),
      s.family === "unix" ? "" : endpoint(s.remoteAddress, s.remotePort, s.family),
      s.state,
      ownerCell(s),
      netnsCell(s, options.hostNetns),
      containerCell(s),
    ];
    if (showPeer) row.push(peerCell(s));
    if (options.wide) row.push(s.uid === undefined ? "-" : String(s.uid), String(s.inode), s.cmdline || "-");
    return row;
  });
  return renderTable(headers, rows);
}

export interface StateSummaryRow {
  netns: number;
  netnsName?: string;
  container?: string;
  podUid?: string;
  protocol: string;
  total: number;
  states: Record<string, number>;
}

/** Socket counts by state, per namespace and container: the on-call engineer's first look. */
export function summarize(sockets: Socket[]): StateSummaryRow[] {
  const rows = new Map<string, StateSummaryRow>();
  for (const s of sockets) {
    const key = `${s.netns}|${s.container?.id ?? ""}|${s.protocol}`;
    let row = rows.get(key);
    if (!row) {
      row = { netns: s.netns, protocol: s.protocol, total: 0, states: {} };
      if (s.netnsName) row.netnsName = s.netnsName;
      if (s.container) row.container = s.container.id;
      if (s.pod) row.podUid = s.pod.uid;
      rows.set(key, row);
    }
    row.total++;
    row.states[s.state] = (row.states[s.state] ?? 0) + 1;
  }
  return [...rows.values()].sort(
    (a, b) =>
      a.netns - b.netns ||
      (a.container ?? "").localeCompare(b.container ?? "") ||
      a.protocol.localeCompare(b.protocol),
  );
}

const SUMMARY_STATES = [
  "LISTEN",
  "ESTABLISHED",
  "CLOSE_WAIT",
  "TIME_WAIT",
  "SYN_SENT",
  "SYN_RECV",
  "FIN_WAIT1",
  "FIN_WAIT2",
  "LAST_ACK",
  "UNCONN",
];

export function renderSummary(rows: StateSummaryRow[], hostNetns?: number): string {
  const present = SUMMARY_STATES.filter((st) => rows.some((r) => r.states[st]));
  const others = (r: StateSummaryRow) =>
    Object.entries(r.states)
      .filter(([st]) => !SUMMARY_STATES.includes(st))
      .reduce((n, [, c]) => n + c, 0);
  const showOther = rows.some((r) => others(r) > 0);
  const headers = ["Netns", "Container/Pod", "Proto", "Total", ...present, ...(showOther ? ["Other"] : [])];
  const body = rows.map((r) => [
    netnsCell(r, hostNetns),
    [r.container?.slice(0, 12), r.podUid ? `pod:${r.podUid}` : undefined].filter(Boolean).join(" ") || "-",
    r.protocol,
    String(r.total),
    ...present.map((st) => String(r.states[st] ?? 0)),
    ...(showOther ? [String(others(r))] : []),
  ]);
  return renderTable(headers, body);
}
