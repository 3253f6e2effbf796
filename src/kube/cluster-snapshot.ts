/**
 * Fetch a ClusterSnapshot from the Kubernetes API: one list per kind (src/kube/kinds.ts). The
 * CLI uses it once (`--kubeconfig`); the agent keeps the same objects current with informers
 * (src/kube/watcher.ts) and converts them with the same snapshotFromObjects.
 * A kind we may not list (RBAC) is left empty and reported, never fatal: the matcher then
 * answers CannotEvaluateOffline for rules that needed it.
 */
import {
  KubeConfig,
  type V1EndpointSlice,
  type V1Job,
  type V1Namespace,
  type V1Node,
  type V1OwnerReference,
  type V1Pod,
  type V1ReplicaSet,
  type V1Service,
} from "@kubernetes/client-node";
import type { ClusterPod, ClusterSnapshot, OwnerRef } from "../core/cluster-index.js";
import { reuseConnections } from "./connections.js";
import { CLUSTER_KINDS, makeApis } from "./kinds.js";

export function loadKubeConfig(path: string | undefined, context?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (context) kc.setCurrentContext(context);
  reuseConnections(kc);
  return kc;
}

function controller(refs: V1OwnerReference[] | undefined): OwnerRef | undefined {
  const ref = refs?.find((r) => r.controller) ?? refs?.[0];
  return ref ? { kind: ref.kind, name: ref.name } : undefined;
}

export function toClusterPod(p: V1Pod): ClusterPod | undefined {
  const uid = p.metadata?.uid;
  const name = p.metadata?.name;
  const namespace = p.metadata?.namespace;
  if (!uid || !name || !namespace) return undefined;
  const ips = (p.status?.podIPs ?? []).map((x) => x.ip).filter((ip): ip is string => typeof ip === "string");
  if (ips.length === 0 && p.status?.podIP) ips.push(p.status.podIP);
  const pod: ClusterPod = {
    uid,
    namespace,
    name,
    labels: p.metadata?.labels ?? {},
    ips,
    hostNetwork: p.spec?.hostNetwork ?? false,
    ports: (p.spec?.containers ?? []).flatMap((c) =>
      (c.ports ?? [])
        .filter((x) => x.name)
        .map((x) => ({
          name: x.name as string,
          port: x.containerPort,
          protocol: x.protocol === "UDP" ? ("UDP" as const) : ("TCP" as const),
        })),
    ),
  };
  if (p.spec?.nodeName) pod.nodeName = p.spec.nodeName;
  const created = p.metadata?.creationTimestamp;
  if (created) pod.createdAt = new Date(created).toISOString();
  if (p.status?.phase === "Succeeded" || p.status?.phase === "Failed" || p.metadata?.deletionTimestamp)
    pod.gone = true;
  // A pod may set its namespace's ephemeral range (a "safe" sysctl): judge its UDP sockets
  // and TIME_WAIT against that, not Linux's default.
  const range = p.spec?.securityContext?.sysctls?.find(
    (s) => s.name === "net.ipv4.ip_local_port_range",
  )?.value;
  const m = range ? /^\s*(\d+)\s+(\d+)\s*$/.exec(range) : null;
  if (m && Number(m[1]) > 0 && Number(m[2]) >= Number(m[1]) && Number(m[2]) <= 65535)
    pod.ephemeralPorts = [Number(m[1]), Number(m[2])];
  if (p.spec?.serviceAccountName) pod.serviceAccount = p.spec.serviceAccountName;
  const owner = controller(p.metadata?.ownerReferences);
  if (owner) pod.owner = owner;
  return pod;
}

export interface FetchResult {
  snapshot: ClusterSnapshot;
  /** Kinds that could not be listed, with the reason (RBAC, API not served). */
  missing: string[];
}

export async function fetchClusterSnapshot(
  kc: KubeConfig,
  options: { nodeName?: string } = {},
): Promise<FetchResult> {
  const apis = makeApis(kc);
  const missing: string[] = [];
  const attempt = async <K extends keyof ClusterObjects>(field: K): Promise<ClusterObjects[K]> => {
    const kind = CLUSTER_KINDS[field];
    try {
      const selector = field === "pods" && options.nodeName ? `spec.nodeName=${options.nodeName}` : undefined;
      return (await kind.list(apis, selector)).items as ClusterObjects[K];
    } catch (err) {
      const code = (err as { code?: number }).code;
      // Only "not allowed" and "not served" are survivable: anything else (the server is
      // down, a bad kubeconfig) must be said loudly by the caller.
      if (code === 403 || code === 404) {
        missing.push(`${kind.name} (HTTP ${code})`);
        return [] as ClusterObjects[K];
      }
      throw err;
    }
  };
  const [pods, services, namespaces, slices, nodes, replicaSets, jobs] = await Promise.all([
    attempt("pods"),
    attempt("services"),
    attempt("namespaces"),
    attempt("slices"),
    attempt("nodes"),
    attempt("replicaSets"),
    attempt("jobs"),
  ]);
  const snapshot = snapshotFromObjects({ pods, services, namespaces, slices, nodes, replicaSets, jobs });
  return { snapshot, missing };
}

export interface ClusterObjects {
  pods: V1Pod[];
  services: V1Service[];
  namespaces: V1Namespace[];
  slices: V1EndpointSlice[];
  nodes: V1Node[];
  replicaSets: V1ReplicaSet[];
  jobs: V1Job[];
}

/** The pure conversion from API objects, shared by the one-shot fetch and the agent's informers. */
export function snapshotFromObjects({
  pods,
  services,
  namespaces,
  slices,
  nodes,
  replicaSets,
  jobs,
}: ClusterObjects): ClusterSnapshot {
  return {
    pods: pods.map(toClusterPod).filter((p): p is ClusterPod => p !== undefined),
    services: services.map((s) => ({
      namespace: s.metadata?.namespace ?? "",
      name: s.metadata?.name ?? "",
      clusterIPs: (s.spec?.clusterIPs ?? (s.spec?.clusterIP ? [s.spec.clusterIP] : [])).filter(
        (ip) => ip && ip !== "None",
      ),
    })),
    namespaces: namespaces.map((n) => ({ name: n.metadata?.name ?? "", labels: n.metadata?.labels ?? {} })),
    endpoints: slices.flatMap((e) => {
      const service = e.metadata?.labels?.["kubernetes.io/service-name"];
      if (!service) return [];
      return [
        {
          namespace: e.metadata?.namespace ?? "",
          service,
          addresses: (e.endpoints ?? []).flatMap((x) => x.addresses),
        },
      ];
    }),
    nodes: nodes.map((n) => ({
      name: n.metadata?.name ?? "",
      addresses: (n.status?.addresses ?? [])
        .filter((a) => a.type === "InternalIP" || a.type === "ExternalIP")
        .map((a) => a.address),
    })),
    owners: [
      ...replicaSets.flatMap((r) => ownerRow("ReplicaSet", r.metadata, r.spec?.selector?.matchLabels)),
      ...jobs.flatMap((j) => ownerRow("Job", j.metadata, j.spec?.selector?.matchLabels)),
    ],
  };
}

function ownerRow(
  kind: string,
  meta: { namespace?: string; name?: string; ownerReferences?: V1OwnerReference[] } | undefined,
  selector: Record<string, string> | undefined,
): ClusterSnapshot["owners"] {
  const owner = controller(meta?.ownerReferences);
  if (!owner || !meta?.name) return [];
  return [
    { namespace: meta.namespace ?? "", kind, name: meta.name, owner, ...(selector ? { selector } : {}) },
  ];
}
