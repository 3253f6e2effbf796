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
  Listener,
  NetworkBaselineInput,
  Peer,
} from "../../api/v1alpha1/networkbaseline.js";
import { parseIp } from "../../net/address.js";
import { describePort } from "./compile.js";
import { fitListeners, peerRules } from "./learn.js";
import { peerFor } from "./peer-identity.js";

/** status.learned, as the CRD defines it. */
export type LearnedState = Learned;

/** An address a /32 (/128) ipBlock can be written from: an IP, not a masked one (x.x.x.x). */
function isAddress(text: string): boolean {
  return parseIp(text) !== null && !text.includes("%");
}

/**
 * Learned peers as rule entries: the identity when one was learned, else the address. A peer
 * with neither (a masked address, and no identity) cannot be written: it goes to `omitted`.
 */
function entries(
  peers: LearnedState["egress"],
  direction: string,
  omitted: string[],
): { peer: Peer; ports: string[] }[] {
  const out: { peer: Peer; ports: string[] }[] = [];
  for (const p of peers ?? []) {
    if (!p.peer && !isAddress(p.address)) {
      omitted.push(
        `${direction} ${p.address} on ${p.port}/${p.protocol}: no identity was learned and the address is not an IP (masked?)`,
      );
      continue;
    }
    out.push({
      peer: p.peer ?? peerFor({ kind: "address", address: p.address }, ""),
      ports: [`${p.port}/${p.protocol}`],
    });
  }
  return out;
}

/**
 * Learned listeners as a spec writes them. A bind address that is not an IP (the status schema
 * lets through what its pattern allows) is dropped, keeping the port, as mergeLearned does for
 * masked ones; the omission is named.
 */
function listeners(learned: Listener[] | undefined, omitted: string[]): Listener[] {
  return (learned ?? []).map((l) => {
    if (l.address === undefined || isAddress(l.address)) return l;
    const { address, ...rest } = l;
    omitted.push(
      `listener ${describePort(l)}: bind address ${JSON.stringify(address)} is not an IP; written without one`,
    );
    return rest;
  });
}

export function baselineFromLearned(
  source: { metadata: { name?: string; namespace?: string }; spec: NetworkBaselineInput["spec"] },
  learned: LearnedState,
): NetworkBaselineInput {
  return exportLearned(source, learned).baseline;
}

/**
 * The exported baseline, and a sentence for each learned thing that could not be written
 * within the schema (see peerRules and fitListeners): left out, never widened.
 */
export function exportLearned(
  source: { metadata: { name?: string; namespace?: string }; spec: NetworkBaselineInput["spec"] },
  learned: LearnedState,
): { baseline: NetworkBaselineInput; omitted: string[] } {
  const omitted: string[] = [];
  // Keep what a human wrote (selector, thresholds, exceptions); replace what was learned.
  const { listeners: _l, egress: _e, ingress: _i, mode: _m, learning: _learning, ...kept } = source.spec;
  const baseline: NetworkBaselineInput = {
    apiVersion: API_VERSION,
    kind: "NetworkBaseline",
    metadata: { name: source.metadata.name ?? "learned", namespace: source.metadata.namespace ?? "default" },
    spec: {
      ...kept,
      mode: "Alert",
      listeners: fitListeners(listeners(learned.listeners, omitted), omitted),
      egress: peerRules(entries(learned.egress, "egress to", omitted), "to", omitted) as EgressRule[],
      ingress: peerRules(entries(learned.ingress, "ingress from", omitted), "from", omitted) as IngressRule[],
    },
  };
  return { baseline, omitted };
}
