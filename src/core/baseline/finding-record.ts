/**
 * The machine-readable form of a finding: what `socklens check -o ndjson` prints one per line
 * and `-o json` lists. A public interface (docs/output.md, "Finding record"): fields are only
 * added, never renamed or re-typed. Flat, so `jq 'select(.rule == "UnexpectedEgress") |
 * .peerAddress'` works, and built from the same values the sentence in `message` was built
 * from. A field that does not apply is absent, never null. Pure.
 */
import { findingPatternKey } from "./patterns.js";
import type { Finding, SuppressedFinding } from "./types.js";

export interface FindingRecord {
  rule: Finding["rule"];
  severity: Finding["severity"];
  mitre?: { id: string; name: string };
  message: string;
  /** "namespace/name" of the baseline. */
  baseline: string;
  /** Human name of what was evaluated: "pod shop/web-0", "netns 4026532318 (app)". */
  scope: string;
  pod?: { namespace?: string; name?: string; uid?: string };
  workload?: { kind: string; name: string };
  /** The process holding the socket, or the one a detector names. */
  process?: string;
  pid?: number;
  /** A detector's process: its command line (a discovery tool's arguments). */
  cmdline?: string;
  protocol?: "TCP" | "UDP";
  /** Our side: the listener, or where an ingress peer connected to; absent otherwise. */
  localAddress?: string;
  localPort?: number;
  direction?: "egress" | "ingress";
  peerAddress?: string;
  /** Egress only: the port we connected to (an ingress peer's port is ephemeral). */
  peerPort?: number;
  /** Who the peer is, when known: "pod shop/db-0", "service shop/db", "node n1", "this host". */
  peerIdentity?: string;
  /** The TCP state a threshold is about, else the state of the example socket. */
  state?: string;
  /** Sockets behind the finding. */
  count: number;
  /** The threshold that was exceeded. */
  limit?: number;
  netns?: number;
  /**
   * The finding's pattern (rule/address/port/process, src/core/baseline/patterns.ts): the same
   * on every pod and after restarts; `socklens ack KEY` acknowledges it.
   */
  key: string;
  suppressed?: { reason: string; expires?: string };
}

/** What the caller knows about the scope that the finding itself does not carry. */
export interface FindingContext {
  pod?: { namespace?: string; name?: string; uid?: string };
  workload?: { kind: string; name: string };
}

export function findingRecord(f: Finding, context: FindingContext = {}): FindingRecord {
  const s = f.socket;
  const peer = f.peer;
  const egress = peer?.direction === "egress";
  const protocol = peer?.protocol ?? transportOf(s?.protocol);
  // Our side is known for a listener and for an ingress peer (the port it connected to). A
  // threshold's socket is one example of many, its local port often ephemeral: left out.
  const listener = !peer && s !== undefined && (s.state === "LISTEN" || s.state === "UNCONN");
  const localAddress = listener || (peer && !egress) ? s?.localAddress : undefined;
  const localPort = peer && !egress ? peer.port : listener ? s?.localPort : undefined;
  // The socket's holder, else the process a finding about no one socket names (detectors).
  const proc = s?.pid !== undefined || s?.process !== undefined ? s : f.holder;
  const state = f.state ?? s?.state;
  // Key order is the order a reader scans a line in: what, how bad, who, where, how many.
  return {
    rule: f.rule,
    severity: f.severity,
    ...(f.mitre ? { mitre: { id: f.mitre.id, name: f.mitre.name } } : {}),
    message: f.message,
    baseline: f.baseline,
    scope: f.scope,
    ...(context.pod ? { pod: { ...context.pod } } : {}),
    ...(context.workload ? { workload: { kind: context.workload.kind, name: context.workload.name } } : {}),
    ...(proc?.process !== undefined ? { process: proc.process } : {}),
    ...(proc?.pid !== undefined ? { pid: proc.pid } : {}),
    ...(f.holder?.cmdline !== undefined ? { cmdline: f.holder.cmdline } : {}),
    ...(protocol ? { protocol } : {}),
    ...(localAddress !== undefined ? { localAddress } : {}),
    ...(localPort !== undefined ? { localPort } : {}),
    ...(peer ? { direction: peer.direction, peerAddress: peer.address } : {}),
    ...(peer && egress ? { peerPort: peer.port } : {}),
    ...(peer?.identity !== undefined ? { peerIdentity: peer.identity } : {}),
    ...(state !== undefined ? { state } : {}),
    count: f.count,
    ...(f.limit !== undefined ? { limit: f.limit } : {}),
    ...(s ? { netns: s.netns } : {}),
    key: findingPatternKey(f),
  };
}

/** A finding an exception moved aside: its record, saying why and until when. */
export function suppressedRecord(x: SuppressedFinding, context: FindingContext = {}): FindingRecord {
  const r = findingRecord(x.finding, context);
  r.suppressed = x.expires === undefined ? { reason: x.reason } : { reason: x.reason, expires: x.expires };
  return r;
}

function transportOf(protocol: string | undefined): "TCP" | "UDP" | undefined {
  if (protocol === "tcp") return "TCP";
  if (protocol === "udp") return "UDP";
  return undefined;
}
