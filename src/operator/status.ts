/**
 * What a NetworkBaseline's status should be, computed from the object itself, the pods in
 * its namespace and the NetworkObservations the agents wrote for it. Pure: the controller
 * reads, calls this, and writes the result through /status only when it changed.
 */
import { ConditionType, Reason, setCondition } from "../api/conditions.js";
import { type ParsedBaseline, parseBaseline } from "../api/parse.js";
import { parseDuration } from "../api/v1alpha1/common.js";
import {
  type Learned,
  type LearnedPeer,
  type Listener,
  MAX_LEARNED_PEERS,
  MAX_LISTENERS,
  type NetworkBaselineStatus,
} from "../api/v1alpha1/networkbaseline.js";
import type { NetworkObservationSpec } from "../api/v1alpha1/networkobservation.js";
import { summarizeExceptions } from "../core/baseline/ack.js";
import { peerKey } from "../core/baseline/peer-identity.js";
import { selectorMatches } from "../core/baseline/selector.js";

/** The status fields the operator always writes. */
export type BaselineStatus = NetworkBaselineStatus &
  Required<Pick<NetworkBaselineStatus, "conditions" | "matchedPods">> & {
    violations: NonNullable<NetworkBaselineStatus["violations"]> & { byRule: Record<string, number> };
    learned?: Required<Learned>;
  };

/**
 * What the operator reads of one NetworkObservation: its node, window end and findings, and
 * its peers only as far as status.learned keeps them (an ObservedPeer is a LearnedPeer).
 */
export type ObservationSummary = Pick<NetworkObservationSpec, "nodeName" | "windowEnd" | "violations"> &
  Partial<Pick<NetworkObservationSpec, "listeners">> & { egress?: LearnedPeer[]; ingress?: LearnedPeer[] };

/** Union of what was learned before and what the observations show now, bounded. */
export function mergeLearned(
  previous: Learned | undefined,
  observations: ObservationSummary[],
): Required<Learned> {
  const listeners = new Map<string, Listener>();
  for (const l of [...(previous?.listeners ?? []), ...observations.flatMap((o) => o.listeners ?? [])]) {
    // A masked bind address (x.x.x.x) is not an IP the CRD accepts: learn the port without it.
    const { address, ...rest } = l;
    const entry: Listener = address && /^[0-9a-fA-F:.]+$/.test(address) ? l : rest;
    const key = `${entry.protocol ?? "TCP"}|${entry.address ?? ""}|${entry.port}|${entry.process ?? ""}`;
    if (!listeners.has(key) && listeners.size < MAX_LISTENERS) listeners.set(key, entry);
  }
  const peers = (prev: LearnedPeer[] | undefined, seen: LearnedPeer[]): LearnedPeer[] => {
    const out = new Map<string, LearnedPeer>();
    for (const p of [...(prev ?? []), ...seen]) {
      // By identity when the agent knew one: the same workload seen from several nodes, or
      // through several pod IPs over a rollout, is one learned peer.
      const key = `${p.peer ? peerKey(p.peer) : p.address}|${p.port}|${p.protocol}`;
      const had = out.get(key);
      if (had) {
        if (p.firstSeen && (!had.firstSeen || p.firstSeen < had.firstSeen)) had.firstSeen = p.firstSeen;
        if (p.lastSeen && (!had.lastSeen || p.lastSeen > had.lastSeen)) had.lastSeen = p.lastSeen;
      } else if (out.size < MAX_LEARNED_PEERS) {
        out.set(key, {
          address: p.address,
          ...(p.peer ? { peer: p.peer } : {}),
          ...(p.identity ? { identity: p.identity } : {}),
          port: p.port,
          protocol: p.protocol,
          ...(p.firstSeen ? { firstSeen: p.firstSeen } : {}),
          ...(p.lastSeen ? { lastSeen: p.lastSeen } : {}),
        });
      }
    }
    return [...out.values()].sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port);
  };
  return {
    listeners: [...listeners.values()].sort((a, b) => Number(a.port) - Number(b.port)),
    egress: peers(
      previous?.egress,
      observations.flatMap((o) => o.egress ?? []),
    ),
    ingress: peers(
      previous?.ingress,
      observations.flatMap((o) => o.ingress ?? []),
    ),
  };
}

export interface StatusInputs {
  raw: unknown;
  pods: { labels: Record<string, string> }[];
  observations: ObservationSummary[];
  previous?: Partial<BaselineStatus>;
  /** Whether the operator may act on learning.autoPromote (its --auto-promote flag). */
  autoPromoteAllowed?: boolean;
  /** `raw` already parsed (the controller's ParseCache); parsed here when absent. */
  parsed?: ParsedBaseline;
  now: Date;
}

export function desiredStatus({
  raw,
  pods,
  observations,
  previous,
  autoPromoteAllowed,
  parsed = parseBaseline(raw),
  now,
}: StatusInputs): BaselineStatus {
  const obj = raw as {
    metadata?: { generation?: number; namespace?: string; name?: string; creationTimestamp?: string };
    spec?: { podSelector?: unknown; mode?: string; learning?: { duration?: string; autoPromote?: boolean } };
  };
  const generation = obj.metadata?.generation;
  let conditions = previous?.conditions ?? [];
  const gen = generation === undefined ? {} : { observedGeneration: generation };

  const problem = parsed.ok ? undefined : parsed.problem;
  conditions = setCondition(
    conditions,
    problem
      ? {
          type: ConditionType.Ready,
          status: "False",
          reason: Reason.InvalidSpec,
          message: `spec is invalid and is not evaluated: ${problem}`,
          ...gen,
        }
      : {
          type: ConditionType.Ready,
          status: "True",
          reason: Reason.Compiled,
          message: "baseline compiled; agents evaluate it",
          ...gen,
        },
    now,
  );
  const learning = obj.spec?.mode === "Learn";
  const learned = learning ? mergeLearned(previous?.learned, observations) : previous?.learned;
  const duration = parseDuration(obj.spec?.learning?.duration ?? "") ?? undefined;
  const since = Date.parse(obj.metadata?.creationTimestamp ?? "");
  const complete =
    learning && duration !== undefined && !Number.isNaN(since) && now.getTime() - since >= duration;
  const summary = learned
    ? `${learned.listeners.length} listener(s), ${learned.egress.length} egress and ${learned.ingress.length} ingress peer(s)`
    : "";
  const name = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
  conditions = setCondition(
    conditions,
    !learning
      ? {
          type: ConditionType.Learning,
          status: "False",
          reason: Reason.AlertMode,
          message: "mode Alert: violations are raised",
          ...gen,
        }
      : complete
        ? {
            type: ConditionType.Learning,
            status: "False",
            reason: Reason.LearningComplete,
            message:
              `learned ${summary} over ${obj.spec?.learning?.duration}; review with \`socklens baseline export ${name}\` and switch to Alert` +
              (obj.spec?.learning?.autoPromote && !autoPromoteAllowed
                ? " (learning.autoPromote is set, but this operator runs without --auto-promote)"
                : "") +
              (observations.length === 0
                ? "; no agent has reported for its pods yet (auto-promotion waits for one)"
                : ""),
            ...gen,
          }
        : {
            type: ConditionType.Learning,
            status: "True",
            reason: Reason.LearningMode,
            message: `mode Learn: recording, no violations are raised; ${summary} so far`,
            ...gen,
          },
    now,
  );

  const byRule: Record<string, number> = {};
  let total = 0;
  let newest: string | undefined;
  for (const o of observations) {
    let n = 0;
    for (const [rule, count] of Object.entries(o.violations)) {
      byRule[rule] = (byRule[rule] ?? 0) + count;
      n += count;
    }
    total += n;
    if (n > 0 && (!newest || o.windowEnd > newest)) newest = o.windowEnd;
  }
  const nodes = observations
    .filter((o) => Object.values(o.violations).some((n) => n > 0))
    .map((o) => o.nodeName);
  conditions = setCondition(
    conditions,
    observations.length === 0
      ? {
          type: ConditionType.Violating,
          status: "Unknown",
          reason: Reason.NoObservations,
          message: "no agent has reported on this baseline yet",
          ...gen,
        }
      : total > 0
        ? {
            type: ConditionType.Violating,
            status: "True",
            reason: Reason.ViolationsReported,
            message: `${total} active violation(s) on node(s) ${nodes.sort().join(", ")}`,
            ...gen,
          }
        : {
            type: ConditionType.Violating,
            status: "False",
            reason: Reason.NoViolations,
            message: `no active violations on ${observations.length} reporting node(s)`,
            ...gen,
          },
    now,
  );

  const selector = (obj.spec?.podSelector ?? {}) as Parameters<typeof selectorMatches>[0];
  const lastTime = newest ?? previous?.violations?.lastTime;
  // Acknowledged patterns (socklens ack): which are in force and which expired, judged now;
  // the controller requeues at the next expiry so the change shows without another event.
  const exceptions = parsed.ok ? (parsed.baseline.spec.exceptions ?? []) : [];
  const acknowledged = exceptions.length ? summarizeExceptions(exceptions, now) : undefined;
  return {
    ...gen,
    conditions,
    matchedPods: problem ? 0 : pods.filter((p) => selectorMatches(selector, p.labels)).length,
    violations: { total, byRule, ...(lastTime ? { lastTime } : {}) },
    ...(acknowledged ? { acknowledged } : {}),
    ...(learned ? { learned } : {}),
  };
}

/** Equal apart from key order: decides whether a status write is needed. */
export function sameStatus(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([x], [y]) => x.localeCompare(y))
              .map(([k, x]) => [k, canon(x)]),
          )
        : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}
