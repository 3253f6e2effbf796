/**
 * A NetworkBaseline compiled once for repeated evaluation: CIDRs parsed, defaults applied,
 * and a short human summary of what each section allows (used in explanations).
 */
import type {
  EgressRule,
  IngressRule,
  Listener,
  NetworkBaseline,
  Peer,
  PortRange,
} from "../../api/v1alpha1/networkbaseline.js";
import { type Cidr, parseCidr } from "../../net/cidr.js";
import type { CompiledException } from "./patterns.js";
import { describeSelector } from "./selector.js";

export interface CompiledPeer {
  source: Peer;
  cidr?: Cidr;
  except?: Cidr[];
}

export interface CompiledRule {
  peers: CompiledPeer[];
  ports: PortRange[];
}

export interface CompiledBaseline {
  /** "namespace/name" */
  id: string;
  namespace: string;
  source: NetworkBaseline;
  listeners?: Listener[];
  egress?: CompiledRule[];
  ingress?: CompiledRule[];
  exceptions: CompiledException[];
  summary: { listeners: string; egress: string; ingress: string };
}

function compilePeer(p: Peer): CompiledPeer {
  const c: CompiledPeer = { source: p };
  if (p.ipBlock) {
    c.cidr = parseCidr(p.ipBlock.cidr);
    c.except = (p.ipBlock.except ?? []).map(parseCidr);
  }
  return c;
}

function compileRules(
  rules: (EgressRule | IngressRule)[] | undefined,
  key: "to" | "from",
): CompiledRule[] | undefined {
  if (!rules) return undefined;
  return rules.map((r) => ({
    peers: (((r as Record<string, unknown>)[key] as Peer[] | undefined) ?? []).map(compilePeer),
    ports: r.ports ?? [],
  }));
}

export function describePort(p: { port?: number | string; endPort?: number; protocol?: string }): string {
  const proto = p.protocol ?? "TCP";
  if (p.port === undefined) return `any/${proto}`;
  return `${p.port}${p.endPort !== undefined ? `-${p.endPort}` : ""}/${proto}`;
}

export function describePeer(p: Peer): string {
  if (p.ipBlock)
    return p.ipBlock.except?.length
      ? `${p.ipBlock.cidr} except ${p.ipBlock.except.join(",")}`
      : p.ipBlock.cidr;
  if (p.entity) return `entity ${p.entity}`;
  if (p.service) return `service ${p.service.namespace ? `${p.service.namespace}/` : ""}${p.service.name}`;
  const parts: string[] = [];
  if (p.namespaceSelector) parts.push(`namespaces ${describeSelector(p.namespaceSelector)}`);
  if (p.podSelector) parts.push(`pods ${describeSelector(p.podSelector)}`);
  return parts.join(" ");
}

function describeRules(rules: CompiledRule[] | undefined, word: "to" | "from"): string {
  if (!rules) return "anything (not checked)";
  if (rules.length === 0) return "nothing";
  return rules
    .map((r) => {
      const peers = r.peers.length ? r.peers.map((p) => describePeer(p.source)).join(" or ") : "anywhere";
      const ports = r.ports.length ? ` on ${r.ports.map(describePort).join(", ")}` : "";
      return `${word} ${peers}${ports}`;
    })
    .join("; ");
}

function describeListeners(ls: Listener[] | undefined): string {
  if (!ls) return "any listener (not checked)";
  if (ls.length === 0) return "no listeners";
  return ls
    .map(
      (l) => `${describePort(l)}${l.address ? ` on ${l.address}` : ""}${l.process ? ` by ${l.process}` : ""}`,
    )
    .join(", ");
}

/** Compile a schema-valid baseline. Throws only on input the validator would have rejected. */
export function compileBaseline(b: NetworkBaseline): CompiledBaseline {
  const namespace = b.metadata.namespace ?? "default";
  const egress = compileRules(b.spec.egress, "to");
  const ingress = compileRules(b.spec.ingress, "from");
  const compiled: CompiledBaseline = {
    id: `${namespace}/${b.metadata.name ?? "(unnamed)"}`,
    namespace,
    source: b,
    exceptions: (b.spec.exceptions ?? []).map((e) => {
      if (e.address === undefined) return e;
      try {
        return { ...e, cidr: parseCidr(e.address) };
      } catch {
        return e;
      }
    }),
    summary: {
      listeners: describeListeners(b.spec.listeners),
      egress: describeRules(egress, "to"),
      ingress: describeRules(ingress, "from"),
    },
  };
  if (b.spec.listeners) compiled.listeners = b.spec.listeners;
  if (egress) compiled.egress = egress;
  if (ingress) compiled.ingress = ingress;
  return compiled;
}
