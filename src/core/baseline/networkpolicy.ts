/**
 * `socklens baseline export --as networkpolicy`: the networking.k8s.io/v1 NetworkPolicy that
 * allows what a reviewed baseline's spec allows, and a comment listing what it cannot say.
 * Pure; the decisions and their reasons are in docs/adr/0007-networkpolicy-export.md.
 *
 * The one rule everything here follows: a baseline describes, a NetworkPolicy denies. So a
 * peer that cannot be expressed is never widened into something that allows more than the
 * baseline (a rule left with an empty `to` would allow every destination); it is dropped and
 * named in the comment, because the policy will deny that traffic.
 */
import type { LabelSelector, PortRange } from "../../api/v1alpha1/common.js";
import type { NetworkBaseline, Peer } from "../../api/v1alpha1/networkbaseline.js";

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicyPort {
  protocol?: "TCP" | "UDP";
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicy {
  apiVersion: "networking.k8s.io/v1";
  kind: "NetworkPolicy";
  metadata: { name: string; namespace: string; annotations: Record<string, string> };
  spec: {
    podSelector: LabelSelector;
    policyTypes: ("Ingress" | "Egress")[];
    ingress?: NetworkPolicyIngressRule[];
    egress?: NetworkPolicyEgressRule[];
  };
}

/** What a Service contributes: its selector (the pods behind it) and its port mapping. */
export interface ServiceShape {
  selector?: Record<string, string>;
  ports?: { port: number; targetPort?: number | string; protocol?: string }[];
}

export interface NetworkPolicyOptions {
  /**
   * Services the baseline names, by "namespace/name": their shape, or null when the cluster
   * has no such Service. Absent when no cluster was consulted.
   */
  services?: ReadonlyMap<string, ServiceShape | null>;
}

export type NetworkPolicyExport =
  | { ok: true; policy: NetworkPolicy; comment: string[] }
  | { ok: false; reason: string };

/** The annotation naming the baseline a policy was exported from. */
export const EXPORTED_FROM = "socklens.io/exported-from";

/** The Services a baseline's rules name, as "namespace/name", for the caller to look up. */
export function referencedServices(b: NetworkBaseline): string[] {
  const ns = b.metadata.namespace ?? "default";
  const out = new Set<string>();
  for (const rule of [
    ...(b.spec.egress ?? []).map((r) => r.to),
    ...(b.spec.ingress ?? []).map((r) => r.from),
  ])
    for (const p of rule ?? []) if (p.service) out.add(`${p.service.namespace ?? ns}/${p.service.name}`);
  return [...out].sort();
}

interface Notes {
  /** Allowed by the baseline, not by the policy: the policy denies it. */
  denied: string[];
  /** Expressed in part; the rest is denied. */
  partial: string[];
}

export function networkPolicyFromBaseline(
  b: NetworkBaseline,
  options: NetworkPolicyOptions = {},
): NetworkPolicyExport {
  const namespace = b.metadata.namespace ?? "default";
  const name = b.metadata.name ?? "baseline";
  const spec = b.spec;
  if (spec.egress === undefined && spec.ingress === undefined)
    return {
      ok: false,
      reason: `NetworkBaseline ${namespace}/${name} checks neither egress nor ingress, so there is nothing a NetworkPolicy could allow (one with no policyTypes is defaulted to Ingress and would deny every client)`,
    };
  const notes: Notes = { denied: [], partial: [] };
  const policyTypes: NetworkPolicy["spec"]["policyTypes"] = [];
  const policySpec: NetworkPolicy["spec"] = { podSelector: copySelector(spec.podSelector), policyTypes };
  if (spec.ingress !== undefined) {
    policyTypes.push("Ingress");
    policySpec.ingress = spec.ingress.flatMap((rule, i) =>
      convertRule(rule.from, rule.ports, `spec.ingress[${i}].from`, "ingress", namespace, options, notes).map(
        ({ peers, ports }) => ({ ...(peers ? { from: peers } : {}), ...(ports ? { ports } : {}) }),
      ),
    );
  }
  if (spec.egress !== undefined) {
    policyTypes.push("Egress");
    policySpec.egress = spec.egress.flatMap((rule, i) =>
      convertRule(rule.to, rule.ports, `spec.egress[${i}].to`, "egress", namespace, options, notes).map(
        ({ peers, ports }) => ({ ...(peers ? { to: peers } : {}), ...(ports ? { ports } : {}) }),
      ),
    );
  }
  for (const e of spec.exceptions ?? []) {
    if (e.rule !== "UnexpectedEgress" && e.rule !== "UnexpectedIngress") continue;
    const what = [
      e.address,
      e.port === undefined ? undefined : `port ${e.port}`,
      e.process && `process ${e.process}`,
    ]
      .filter(Boolean)
      .join(", ");
    notes.denied.push(
      `spec.exceptions: ${e.rule}${what ? ` ${what}` : " (any peer)"} is tolerated by the baseline (${JSON.stringify(e.reason)}${e.expires ? `, until ${e.expires}` : ""}), not by a NetworkPolicy`,
    );
  }
  const policy: NetworkPolicy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace, annotations: { [EXPORTED_FROM]: `NetworkBaseline ${namespace}/${name}` } },
    spec: policySpec,
  };
  return { ok: true, policy, comment: commentLines(b, policy, notes) };
}

interface ConvertedRule {
  peers?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

/**
 * One baseline rule as NetworkPolicy rules: the peers NetworkPolicy can name directly in one
 * rule with the rule's ports, and each Service in a rule of its own (its ports translated
 * through the Service's targetPorts). A rule whose peers all fall away is dropped, never
 * emptied: an empty peer list allows everyone.
 */
function convertRule(
  peers: Peer[] | undefined,
  ports: PortRange[] | undefined,
  path: string,
  direction: "egress" | "ingress",
  namespace: string,
  options: NetworkPolicyOptions,
  notes: Notes,
): ConvertedRule[] {
  const npPorts = ports?.length ? ports.map(copyPort) : undefined;
  if (!peers?.length) return [npPorts ? { ports: npPorts } : {}];
  const direct: NetworkPolicyPeer[] = [];
  const services: ConvertedRule[] = [];
  peers.forEach((p, j) => {
    const at = `${path}[${j}]`;
    if (p.podSelector || p.namespaceSelector) {
      direct.push({
        ...(p.podSelector ? { podSelector: copySelector(p.podSelector) } : {}),
        ...(p.namespaceSelector ? { namespaceSelector: copySelector(p.namespaceSelector) } : {}),
      });
    } else if (p.ipBlock) {
      direct.push({
        ipBlock: {
          cidr: p.ipBlock.cidr,
          ...(p.ipBlock.except?.length ? { except: [...p.ipBlock.except] } : {}),
        },
      });
    } else if (p.service) {
      const ref = `${p.service.namespace ?? namespace}/${p.service.name}`;
      const shape = options.services?.get(ref);
      if (shape?.selector && Object.keys(shape.selector).length > 0) {
        const svcNs = p.service.namespace ?? namespace;
        services.push({
          peers: [
            {
              podSelector: { matchLabels: { ...shape.selector } },
              ...(svcNs !== namespace
                ? { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": svcNs } } }
                : {}),
            },
          ],
          ...(npPorts ? { ports: direction === "egress" ? throughService(npPorts, shape) : npPorts } : {}),
        });
      } else {
        const why =
          options.services === undefined
            ? "no cluster was read to find its selector (use --kubeconfig or --cluster)"
            : shape === null || shape === undefined
              ? "no such Service in the cluster"
              : "the Service has no selector (its endpoints are managed by hand or it is an ExternalName)";
        notes.denied.push(`${at}: service ${ref}: ${why}`);
      }
    } else if (p.entity === "cluster") {
      // Every pod in every namespace; Services are reached through their pods (after DNAT).
      direct.push({ namespaceSelector: {} });
      notes.partial.push(
        `${at}: entity cluster became every pod in every namespace; nodes and host-network pods are not pods to a NetworkPolicy`,
      );
    } else if (p.entity) {
      notes.denied.push(`${at}: entity ${p.entity}: ${ENTITY_GAPS[p.entity]}`);
    }
  });
  const out: ConvertedRule[] = [];
  if (direct.length) out.push({ peers: direct, ...(npPorts ? { ports: npPorts } : {}) });
  out.push(...services);
  return out;
}

const ENTITY_GAPS: Record<string, string> = {
  world:
    "outside the cluster is 0.0.0.0/0 and ::/0 except the cluster's pod, service and node CIDRs, which neither the baseline nor the API says",
  host: "the node a pod runs on has no selector, and whether a CNI filters host traffic differs between CNIs",
  "kube-apiserver":
    "the API server's addresses are not pods; a portable policy can only pin them as ipBlocks (see the default/kubernetes EndpointSlice)",
};

/**
 * Egress to a Service, as the policy sees it: after kube-proxy's DNAT the packet goes to a
 * backend pod's targetPort. The baseline matched the ClusterIP's port (and a backend's own
 * port when a client dials it directly), so both are allowed.
 */
function throughService(ports: NetworkPolicyPort[], shape: ServiceShape): NetworkPolicyPort[] {
  const out: NetworkPolicyPort[] = [];
  const seen = new Set<string>();
  const add = (p: NetworkPolicyPort) => {
    const key = `${p.protocol ?? "TCP"}|${p.port ?? ""}|${p.endPort ?? ""}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(p);
  };
  for (const p of ports) {
    add(p);
    if (typeof p.port !== "number" || p.endPort !== undefined) continue;
    const sp = shape.ports?.find((x) => x.port === p.port && (x.protocol ?? "TCP") === (p.protocol ?? "TCP"));
    if (sp?.targetPort !== undefined && sp.targetPort !== p.port)
      add({ ...(p.protocol ? { protocol: p.protocol } : {}), port: sp.targetPort });
  }
  return out;
}

function copyPort(p: PortRange): NetworkPolicyPort {
  return {
    ...(p.protocol ? { protocol: p.protocol } : {}),
    ...(p.port !== undefined ? { port: p.port } : {}),
    ...(p.endPort !== undefined ? { endPort: p.endPort } : {}),
  };
}

function copySelector(s: LabelSelector): LabelSelector {
  return {
    ...(s.matchLabels ? { matchLabels: { ...s.matchLabels } } : {}),
    ...(s.matchExpressions
      ? {
          matchExpressions: s.matchExpressions.map((e) => ({
            key: e.key,
            operator: e.operator,
            ...(e.values ? { values: [...e.values] } : {}),
          })),
        }
      : {}),
  };
}

/** Does some egress rule let DNS (53/UDP) out, whatever the peer? */
function allowsDns(rules: NetworkPolicyEgressRule[]): boolean {
  return rules.some(
    (r) =>
      !r.ports?.length ||
      r.ports.some(
        (p) =>
          (p.protocol ?? "TCP") === "UDP" &&
          (p.port === undefined ||
            (typeof p.port === "number" && p.port <= 53 && (p.endPort ?? p.port) >= 53) ||
            (typeof p.port === "string" && p.port.includes("dns"))),
      ),
  );
}

function commentLines(b: NetworkBaseline, policy: NetworkPolicy, notes: Notes): string[] {
  const spec = b.spec;
  const types = policy.spec.policyTypes;
  const lines = [
    ` It allows what the baseline's spec allows where a NetworkPolicy can say it, and unlike the`,
    ` baseline (which only describes) it DENIES everything else in ${types.join(" and ")} for the selected pods.`,
    " Review it before applying; a CNI that enforces NetworkPolicy is needed for it to do anything.",
  ];
  if (spec.mode === "Learn")
    lines.push(
      " The baseline is in mode Learn: its spec may not be reviewed yet (socklens baseline export writes what was learned).",
    );
  const open = (["Ingress", "Egress"] as const).filter((t) => !types.includes(t));
  if (open.length)
    lines.push(
      ` ${open.join(" and ")}: not checked by the baseline (absent), so not restricted by this policy either.`,
    );
  if (notes.denied.length) {
    lines.push(" Not expressible as a NetworkPolicy, so DENIED by it although the baseline allows it:");
    for (const n of notes.denied) lines.push(`   - ${n}`);
  }
  if (notes.partial.length) {
    lines.push(" Expressed in part:");
    for (const n of notes.partial) lines.push(`   - ${n}`);
  }
  if (types.includes("Egress") && !allowsDns(policy.spec.egress ?? []))
    lines.push(
      " No egress rule allows DNS (53/UDP). socklens rarely sees lookups (they use short-lived unconnected UDP",
      " sockets), so if the pods resolve names, add a rule to your cluster DNS before applying.",
    );
  const restrictsNothing: string[] = [];
  if (spec.listeners !== undefined)
    restrictsNothing.push(
      `spec.listeners (${spec.listeners.length ? spec.listeners.map((l) => `${l.port}/${l.protocol ?? "TCP"}`).join(", ") : "none"}): a NetworkPolicy restricts connections, not which ports may listen`,
    );
  if (spec.thresholds)
    restrictsNothing.push("spec.thresholds: socket counts are not a NetworkPolicy concept");
  if (restrictsNothing.length) {
    lines.push(" Not carried over, and restricting nothing here:");
    for (const n of restrictsNothing) lines.push(`   - ${n}`);
  }
  return lines;
}
