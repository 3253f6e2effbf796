/**
 * `socklens baseline export`: the reviewed path from Learn mode to Alert mode. A baseline's
 * status.learned becomes a spec that allows exactly what was learned, under the same name
 * and podSelector, in mode Alert, ready to commit.
 */
import { API_VERSION } from "../../api/v1alpha1/common.js";
import type {
  EgressRule,
  IngressRule,
  Learned,
  NetworkBaselineInput,
} from "../../api/v1alpha1/networkbaseline.js";
import { peerRules } from "./learn.js";

/** status.learned, as the CRD defines it. */
export type LearnedState = Learned;

function byAddress(peers: LearnedState["egress"]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const p of peers ?? []) {
    const ports = out.get(p.address) ?? new Set<string>();
    ports.add(`${p.port}/${p.protocol}`);
    out.set(p.address, ports);
  }
  return out;
}

export function baselineFromLearned(
  source: { metadata: { name?: string; namespace?: string }; spec: NetworkBaselineInput["spec"] },
  learned: LearnedState,
): NetworkBaselineInput {
  // Keep what a human wrote (selector, thresholds, exceptions); replace what was learned.
  const { listeners: _l, egress: _e, ingress: _i, mode: _m, learning: _learning, ...kept } = source.spec;
  return {
    apiVersion: API_VERSION,
    kind: "NetworkBaseline",
    metadata: { name: source.metadata.name ?? "learned", namespace: source.metadata.namespace ?? "default" },
    spec: {
      ...kept,
      mode: "Alert",
      listeners: learned.listeners ?? [],
      egress: peerRules(byAddress(learned.egress), "to") as EgressRule[],
      ingress: peerRules(byAddress(learned.ingress), "from") as IngressRule[],
    },
  };
}
