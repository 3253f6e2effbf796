/**
 * The matcher: does what a scope's sockets do fit its baseline? The scope's traffic is
 * classified once (src/core/traffic.ts), then each concern runs as its own check
 * (checks/listeners.ts, checks/peers.ts, checks/thresholds.ts). Every decision that fails
 * returns a Finding with a sentence saying why; decisions that need cluster knowledge the
 * resolver lacks return CannotEvaluateOffline instead of passing silently. Exceptions in the
 * baseline then move matching findings to `suppressed`, with their reason.
 */
import { classifyTraffic } from "../traffic.js";
import type { Check, CheckContext } from "./checks/context.js";
import { checkListeners } from "./checks/listeners.js";
import { checkPeers } from "./checks/peers.js";
import { checkThresholds } from "./checks/thresholds.js";
import type { CompiledBaseline } from "./compile.js";
import { DEFAULT_EPHEMERAL_RANGE } from "./limits.js";
import { applyExceptions } from "./patterns.js";
import type { EvaluationResult, EvaluationScope, Finding, IdentityResolver, Severity } from "./types.js";

/** In the order their findings are listed. */
const CHECKS: readonly Check[] = [checkListeners, checkPeers, checkThresholds];

export function evaluate(
  b: CompiledBaseline,
  scope: EvaluationScope,
  r: IdentityResolver,
  now: Date = new Date(),
): EvaluationResult {
  const traffic = classifyTraffic(scope.sockets, undefined, {
    ephemeralPorts: scope.ephemeralPorts ?? DEFAULT_EPHEMERAL_RANGE,
  });
  const ctx: CheckContext = { baseline: b, scope, resolver: r, traffic };
  const findings: Finding[] = [];
  for (const check of CHECKS)
    for (const f of check(ctx)) findings.push({ baseline: b.id, scope: scope.scope, ...f });
  return applyBaselineExceptions(b, findings, now);
}

function applyBaselineExceptions(b: CompiledBaseline, findings: Finding[], now: Date): EvaluationResult {
  return applyExceptions(b.exceptions, findings, now);
}

export const SEVERITY_ORDER: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3 };

/**
 * What makes two findings "the same" across scans: rule, baseline, scope, and the stable
 * parts of the peer or socket (never the counts in the message). Events aggregate and OTel
 * logs deduplicate on it.
 */
export function findingKey(f: Finding): string {
  const s = f.socket;
  const where = f.peer
    ? `${f.peer.direction}|${f.peer.address}|${f.peer.port}|${f.peer.protocol}`
    : s
      ? `${s.protocol}|${s.localAddress}|${s.localPort}|${s.process ?? ""}`
      : // A finding about a process (a discovery tool) is that process's: two tools at once
        // are two findings, not one that lasts as long as either.
        `${f.state ?? ""}|${f.holder?.pid ?? ""}`;
  return `${f.baseline}|${f.scope}|${f.rule}|${where}`;
}
