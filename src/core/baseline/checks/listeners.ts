/**
 * Listeners: every listening TCP/UDP address must fit a `listeners` entry by port, bind
 * address and process. A listener on an expected port with the wrong bind address is
 * ListenerBindChanged (a service that moved from 127.0.0.1 to 0.0.0.0 is exposed).
 */
import type { Listener } from "../../../api/v1alpha1/networkbaseline.js";
import { formatAddress, hostPort, isUnspecified, parseIp } from "../../../net/address.js";
import type { ListenerUse } from "../../traffic.js";
import { socketRef, who } from "../explain.js";
import { portMatches } from "../rules.js";
import type { Tri } from "../tri.js";
import type { PodInfo } from "../types.js";
import type { Check, NewFinding } from "./context.js";

function listenerFit(
  l: Listener,
  use: ListenerUse,
  pod: PodInfo | undefined,
): { port: Tri; address: boolean; process: boolean } {
  const port = portMatches(l, use.port, use.protocol, pod);
  const address =
    l.address === undefined ||
    l.address === use.address ||
    (isUnspecified(l.address) && isUnspecified(use.address)) ||
    // "::ffff:10.0.0.1" or "fd00:0::1" in a baseline mean what the collector prints.
    formatOrSelf(l.address) === use.address;
  const process = l.process === undefined || l.process === use.process;
  return { port, address, process };
}

/** A baseline's address in the collector's canonical form (mapped IPv4 folded, IPv6 compressed). */
function formatOrSelf(a: string): string {
  const bytes = parseIp(a);
  return bytes ? formatAddress(bytes) : a;
}

export const checkListeners: Check = ({ baseline: b, scope, traffic }) => {
  if (!b.listeners) return [];
  const findings: NewFinding[] = [];
  for (const use of traffic.listeners) {
    const s = use.first;
    const at = `${hostPort(use.address, use.port)}/${use.protocol}`;
    const fits = b.listeners.map((l) => ({ l, fit: listenerFit(l, use, scope.pod) }));
    if (fits.some(({ fit }) => fit.port === true && fit.address && fit.process)) continue;
    const portOk = fits.filter(({ fit }) => fit.port === true);
    if (
      portOk.length > 0 &&
      portOk.some(({ fit }) => fit.process) &&
      !portOk.some(({ fit }) => fit.address)
    ) {
      const expected = [...new Set(portOk.map(({ l }) => l.address))].join(" or ");
      findings.push({
        rule: "ListenerBindChanged",
        severity: isUnspecified(use.address) ? "high" : "medium",
        message: `${scope.scope} listens on ${use.port}/${use.protocol} at ${use.address}${who(s)}; baseline ${b.id} expects it bound to ${expected}`,
        socket: socketRef(s),
        count: 1,
      });
      continue;
    }
    if (portOk.length > 0) {
      const expected = [...new Set(portOk.map(({ l }) => l.process).filter(Boolean))].join(" or ");
      findings.push({
        rule: "UnexpectedListener",
        severity: "high",
        message: `${scope.scope} listens on ${at}${who(s)}; baseline ${b.id} expects that port to be held by process ${expected}`,
        socket: socketRef(s),
        count: 1,
      });
      continue;
    }
    if (fits.some(({ fit }) => fit.port === "unknown")) {
      findings.push({
        rule: "CannotEvaluateOffline",
        severity: "info",
        message: `cannot evaluate offline: ${scope.scope} listens on ${at}${who(s)} and baseline ${b.id} names its listeners by port name, which needs the pod's spec`,
        socket: socketRef(s),
        count: 1,
      });
      continue;
    }
    findings.push({
      rule: "UnexpectedListener",
      severity: isUnspecified(use.address) ? "high" : "medium",
      message: `${scope.scope} opened an unexpected listener on ${at}${who(s)}; baseline ${b.id} allows ${b.summary.listeners} only`,
      socket: socketRef(s),
      count: 1,
    });
  }
  return findings;
};
