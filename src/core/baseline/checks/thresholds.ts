/** Thresholds, per scope (the agent evaluates one pod at a time): TCP states, established, listeners. */
import type { Check, NewFinding } from "./context.js";

const STATE_HINTS: Record<string, string> = {
  CLOSE_WAIT: " (the application is not closing connections its peers closed)",
  SYN_SENT: " (peers are not answering)",
};

export const checkThresholds: Check = ({ baseline: b, scope, traffic }) => {
  const t = b.source.spec.thresholds;
  if (!t) return [];
  const findings: NewFinding[] = [];
  for (const [state, limit] of Object.entries(t.tcpStates ?? {})) {
    const n = traffic.tcpStates[state] ?? 0;
    if (limit === undefined || n <= limit) continue;
    findings.push({
      rule: "TcpStateThreshold",
      severity: "low",
      message: `${scope.scope} has ${n} TCP sockets in ${state}; baseline ${b.id} allows at most ${limit}${STATE_HINTS[state] ?? ""}`,
      count: n,
      limit,
      state,
    });
  }
  const est = traffic.tcpStates.ESTABLISHED ?? 0;
  if (t.established !== undefined && est > t.established) {
    findings.push({
      rule: "EstablishedThreshold",
      severity: "low",
      message: `${scope.scope} has ${est} established TCP connections; baseline ${b.id} allows at most ${t.established}`,
      count: est,
      limit: t.established,
    });
  }
  if (t.listeners !== undefined && traffic.listening > t.listeners) {
    findings.push({
      rule: "ListenerThreshold",
      severity: "low",
      message: `${scope.scope} has ${traffic.listening} listening sockets; baseline ${b.id} allows at most ${t.listeners}`,
      count: traffic.listening,
      limit: t.listeners,
    });
  }
  return findings;
};
