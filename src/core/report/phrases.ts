/**
 * One short phrase per finding, by rule, built from the record's fields (never by pasting its
 * message, which is a sentence of its own), and the advice a paragraph ends with. Templates,
 * deterministic: the same records give the same words. Pure.
 */
import type { FindingRecord } from "../baseline/finding-record.js";
import { clock, code, data, hostPort, plain, plural, type Text } from "./text.js";

function peer(r: FindingRecord, proto = ""): Text {
  if (r.peerAddress === undefined) return [plain("a peer")];
  const where = `${hostPort(r.peerAddress, r.direction === "egress" ? r.peerPort : undefined)}${proto}`;
  return r.peerIdentity ? [data(r.peerIdentity), plain(" ("), data(where), plain(")")] : [data(where)];
}

function byProcess(r: FindingRecord, lead = " from process "): Text {
  return r.process !== undefined ? [plain(lead), data(r.process)] : [];
}

/** The beacon's period, which only the detector's sentence carries ("at a steady 1.0 s interval"). */
function beaconPeriod(message: string): string | undefined {
  const m = /at a steady ([0-9]+(?:\.[0-9]+)? ?(?:ms|s|min|h)) interval/.exec(message);
  return m?.[1];
}

export function phraseOf(r: FindingRecord, firstSeen: number | undefined): Text {
  const at = firstSeen !== undefined ? [plain(` at ${clock(firstSeen)}`)] : [];
  const listener =
    r.localAddress !== undefined ? hostPort(r.localAddress, r.localPort) : `:${r.localPort ?? "?"}`;
  const proto = r.protocol ? `/${r.protocol}` : "";
  switch (r.rule) {
    case "Beaconing": {
      const period = beaconPeriod(r.message);
      return [
        plain("a regular beacon to "),
        ...peer(r),
        ...byProcess(r),
        plain(` (${plural(r.count, "connection")}${period ? `, every ${period}` : ""})`),
      ];
    }
    case "NetworkDiscoveryTool":
      return [
        // The record keeps argv NUL-separated (exact); people read it space-separated, as the
        // detector's own sentence does.
        code(r.cmdline?.replaceAll("\0", " ").trim() || r.process || "a discovery tool"),
        plain(" run"),
        ...at,
        ...(r.pid !== undefined ? [plain(" (pid "), data(String(r.pid)), plain(")")] : []),
      ];
    case "UnexpectedEgress":
      return [
        plain("connections to "),
        ...peer(r, proto),
        ...byProcess(r),
        plain(", which the baseline does not allow"),
      ];
    case "UnexpectedIngress":
      return [
        plain("connections from "),
        ...peer(r),
        plain(` to port ${r.localPort ?? "?"}${proto}, which the baseline does not allow`),
      ];
    case "UnexpectedListener":
      return [
        plain("a new listener on "),
        data(listener),
        plain(proto),
        ...byProcess(r, " (process "),
        ...(r.process !== undefined ? [plain(")")] : []),
      ];
    case "ListenerBindChanged":
      return [
        plain("a listener re-bound to "),
        data(listener),
        plain(proto),
        ...byProcess(r, " (process "),
        ...(r.process !== undefined ? [plain(")")] : []),
      ];
    case "TcpStateThreshold":
      return [
        plain(
          `${r.count} sockets in ${r.state ?? "one TCP state"}${r.limit !== undefined ? ` (limit ${r.limit})` : ""}`,
        ),
        ...byProcess(r, " held by "),
      ];
    case "EstablishedThreshold":
      return [
        plain(`${r.count} established connections${r.limit !== undefined ? ` (limit ${r.limit})` : ""}`),
        ...byProcess(r, " held by "),
      ];
    case "ListenerThreshold":
      return [plain(`${r.count} listening sockets${r.limit !== undefined ? ` (limit ${r.limit})` : ""}`)];
    case "ConnectionGrowth":
      return [
        plain(`established connections growing steadily (to ${r.count})`),
        ...byProcess(r, " in process "),
      ];
    case "CloseWaitLeak":
      return [plain(`${plural(r.count, "socket")} stuck in CLOSE_WAIT`), ...byProcess(r, " in process ")];
    case "FailedHandshakes":
      return [plain(`${plural(r.count, "unanswered connection attempt")} to `), ...peer(r)];
    case "EphemeralPortPressure":
      return [plain(`${r.count} local ports in use for connections to `), ...peer(r)];
    case "CannotEvaluateOffline":
      return [plain("a rule that needs cluster knowledge to decide")];
    default:
      // A rule added later (by a newer agent): its name, and what it counted.
      return [plain("a "), data(r.rule), plain(` finding (${r.count})`)];
  }
}

/** What to look at first, for the top finding of a workload. */
export function adviceFor(r: FindingRecord): Text {
  const proc = r.process !== undefined ? [data(r.process)] : [plain("the process")];
  switch (r.rule) {
    case "Beaconing":
      return [plain("Check the origin of "), ...proc, plain(" first.")];
    case "NetworkDiscoveryTool":
      return [plain("Check who ran "), ...proc, plain(" and how they got in first.")];
    case "UnexpectedEgress":
      return [plain("Check why "), ...proc, plain(" calls "), ...peer(r), plain(" first.")];
    case "UnexpectedIngress":
      return [plain("Check who "), ...peer(r), plain(" is first.")];
    case "UnexpectedListener":
    case "ListenerBindChanged":
      return [
        plain("Check what opened "),
        data(r.localPort !== undefined ? `port ${r.localPort}` : "the listener"),
        plain(" first."),
      ];
    case "TcpStateThreshold":
    case "CloseWaitLeak":
    case "ConnectionGrowth":
    case "EstablishedThreshold":
      return [plain("Check how "), ...proc, plain(" handles its connections first.")];
    case "FailedHandshakes":
    case "EphemeralPortPressure":
      return [plain("Check whether "), ...peer(r), plain(" is reachable and healthy first.")];
    default:
      return [plain("Start with the "), data(r.rule), plain(" finding.")];
  }
}
