/**
 * What the operator's caches keep of each object. Its informers hold every pod and every
 * NetworkObservation of the cluster (10,000 of each at 500 nodes × 20 baselines), and a
 * reconcile reads only a few fields of them: a pod's namespace and labels, an observation's
 * baseline, node, window end, findings and (for Learn) peers. Everything else — a pod's spec
 * and status, managedFields (which server-side apply makes as large as the object), an
 * observation's pods, TCP state counts and per-peer counts — is dropped before it is stored,
 * as client-go's SetTransform does. Baselines are kept whole (their status is compared) but
 * without managedFields.
 */
import type { KubernetesObject } from "@kubernetes/client-node";

function meta(o: KubernetesObject, withLabels: boolean): KubernetesObject["metadata"] {
  const m = o.metadata ?? {};
  return {
    ...(m.name !== undefined ? { name: m.name } : {}),
    ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
    ...(m.uid !== undefined ? { uid: m.uid } : {}),
    ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
    ...(withLabels && m.labels ? { labels: m.labels } : {}),
  };
}

/**
 * A pod as the operator reads it: which namespace, which labels, and which node (a node's
 * observations count for a baseline while a pod the baseline selects runs there: ADR 0025).
 */
export function slimPod(p: KubernetesObject): KubernetesObject {
  const nodeName = (p as { spec?: { nodeName?: unknown } }).spec?.nodeName;
  return {
    metadata: meta(p, true),
    ...(typeof nodeName === "string" && nodeName !== "" ? { spec: { nodeName } } : {}),
  } as KubernetesObject;
}

/**
 * A Lease as the operator reads it (src/operator/liveness.ts): holder, renewTime and
 * duration. renewTime is a Date when listed through the typed client and a string when
 * watched: kept as the RFC 3339 string either way.
 */
export function slimLease(l: KubernetesObject): KubernetesObject {
  const spec = (
    l as { spec?: { holderIdentity?: unknown; renewTime?: unknown; leaseDurationSeconds?: unknown } }
  ).spec;
  const renew = spec?.renewTime;
  const renewTime =
    renew instanceof Date ? (Number.isNaN(renew.getTime()) ? undefined : renew.toISOString()) : renew;
  return {
    metadata: meta(l, false),
    spec: {
      ...(typeof spec?.holderIdentity === "string" ? { holderIdentity: spec.holderIdentity } : {}),
      ...(typeof renewTime === "string" ? { renewTime } : {}),
      ...(typeof spec?.leaseDurationSeconds === "number"
        ? { leaseDurationSeconds: spec.leaseDurationSeconds }
        : {}),
    },
  } as KubernetesObject;
}

type Peer = Record<string, unknown>;
interface ObservationLike extends KubernetesObject {
  spec?: Record<string, unknown>;
}

/** Peers without their per-window counters (the operator unions them; counts are not kept). */
const peers = (list: unknown): Peer[] | undefined =>
  Array.isArray(list) ? (list as Peer[]).map(({ count: _count, ...rest }) => rest) : undefined;

/** An observation as the operator reads it (status.ts: ObservationSummary). */
export function slimObservation(o: KubernetesObject): KubernetesObject {
  const spec = (o as ObservationLike).spec ?? {};
  const keep: Record<string, unknown> = {};
  for (const k of ["baseline", "nodeName", "windowEnd", "violations", "listeners"] as const)
    if (spec[k] !== undefined) keep[k] = spec[k];
  const egress = peers(spec.egress);
  const ingress = peers(spec.ingress);
  if (egress) keep.egress = egress;
  if (ingress) keep.ingress = ingress;
  return { metadata: meta(o, false), spec: keep } as KubernetesObject;
}

/** A baseline without managedFields (the status and spec are read). */
export function slimBaseline(b: KubernetesObject): KubernetesObject {
  if (!b.metadata?.managedFields) return b;
  const { managedFields: _managedFields, ...metadata } = b.metadata;
  return { ...b, metadata };
}
