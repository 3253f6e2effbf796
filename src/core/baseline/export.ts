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
  Peer,
} from "../../api/v1alpha1/networkbaseline.js";
import { peerRules } from "./learn.js";
import { peerFor } from "./peer-identity.js";

/** status.learned, as the CRD defines it. */
export type LearnedState = Learned;

/** Learned peers as rule entries: the identity when one was learned, else the address. */
function entries(peers: LearnedState["egress"]): { peer: Peer; ports: string[] }[] {
  return (peers ?? []).map((p) => ({
    peer: p.peer ?? peerFor({ kind: "address", address: p.address }, ""),
    ports: [`${p.port}/${p.protocol}`],
  }));
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
      egress: peerRules(entries(learned.egress), "to") as EgressRule[],
      ingress: peerRules(entries(learned.ingress), "from") as IngressRule[],
    },
  };
}
