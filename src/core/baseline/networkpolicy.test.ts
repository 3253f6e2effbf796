import { describe, expect, it } from "vitest";
import { NetworkBaseline, type NetworkBaselineInput } from "../../api/v1alpha1/networkbaseline.js";
import { type NetworkPolicyOptions, networkPolicyFromBaseline, referencedServices } from "./networkpolicy.js";

function baseline(spec: Partial<NetworkBaselineInput["spec"]>): NetworkBaseline {
  return NetworkBaseline.parse({
    apiVersion: "socklens.io/v1alpha1",
    kind: "NetworkBaseline",
    metadata: { name: "web", namespace: "shop" },
    spec: { podSelector: { matchLabels: { app: "web" } }, ...spec },
  });
}

function exported(spec: Partial<NetworkBaselineInput["spec"]>, options?: NetworkPolicyOptions) {
  const r = networkPolicyFromBaseline(baseline(spec), options);
  if (!r.ok) throw new Error(r.reason);
  return r;
}

const DB_SERVICE = new Map([
  ["shop/db", { selector: { app: "db" }, ports: [{ port: 5432, targetPort: "pg", protocol: "TCP" }] }],
  ["cache/redis", { selector: { app: "redis" }, ports: [{ port: 6379, targetPort: 6379 }] }],
  ["shop/external", { ports: [{ port: 443 }] }],
]);

describe("networkPolicyFromBaseline", () => {
  it("maps selectors, ipBlocks, ports and the checked directions one to one", () => {
    const egress = [
      {
        to: [
          { podSelector: { matchLabels: { app: "db" } } },
          {
            podSelector: { matchExpressions: [{ key: "tier", operator: "In" as const, values: ["cache"] }] },
            namespaceSelector: { matchLabels: { team: "data" } },
          },
          { ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } },
        ],
        ports: [{ port: 5432 }, { port: 6000, endPort: 6010, protocol: "TCP" as const }, { port: "metrics" }],
      },
      { ports: [{ port: 53, protocol: "UDP" as const }] },
    ];
    const ingress = [
      { from: [{ namespaceSelector: { matchLabels: { team: "edge" } } }], ports: [{ port: 8080 }] },
    ];
    expect(exported({ egress, ingress }).policy).toEqual({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: {
        name: "web",
        namespace: "shop",
        annotations: { "socklens.io/exported-from": "NetworkBaseline shop/web" },
      },
      spec: {
        podSelector: { matchLabels: { app: "web" } },
        policyTypes: ["Ingress", "Egress"],
        ingress,
        egress,
      },
    });
  });

  it.each<[string, Partial<NetworkBaselineInput["spec"]>, string[], string[]]>([
    ["egress only: Ingress stays open", { egress: [] }, ["Egress"], ["Ingress: not checked"]],
    ["ingress only: Egress stays open", { ingress: [] }, ["Ingress"], ["Egress: not checked"]],
    [
      "an empty list allows nothing: deny all in that direction",
      { ingress: [], egress: [] },
      ["Ingress", "Egress"],
      [],
    ],
  ])("policyTypes: %s", (_, spec, types, says) => {
    const { policy, comment } = exported(spec);
    expect(policy.spec.policyTypes).toEqual(types);
    for (const s of says) expect(comment.join("\n")).toContain(s);
    if (spec.ingress) expect(policy.spec.ingress).toEqual([]);
    if (spec.egress) expect(policy.spec.egress).toEqual([]);
  });

  it("refuses a baseline that checks neither direction, rather than write a deny-all-ingress policy", () => {
    const r = networkPolicyFromBaseline(baseline({ listeners: [{ port: 8080 }] }));
    expect(r).toEqual({ ok: false, reason: expect.stringContaining("checks neither egress nor ingress") });
  });

  it("a service becomes its selector, in its own rule, its ports also through targetPort", () => {
    const b = baseline({
      egress: [
        {
          to: [
            { service: { name: "db" } },
            { service: { name: "redis", namespace: "cache" } },
            { ipBlock: { cidr: "192.0.2.0/24" } },
          ],
          ports: [{ port: 5432 }, { port: 6379 }],
        },
      ],
      ingress: [{ from: [{ service: { name: "db" } }], ports: [{ port: 8080 }] }],
    });
    expect(referencedServices(b)).toEqual(["cache/redis", "shop/db"]);
    const r = networkPolicyFromBaseline(b, { services: DB_SERVICE });
    if (!r.ok) throw new Error(r.reason);
    expect(r.policy.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: "192.0.2.0/24" } }], ports: [{ port: 5432 }, { port: 6379 }] },
      {
        to: [{ podSelector: { matchLabels: { app: "db" } } }],
        ports: [{ port: 5432 }, { port: "pg" }, { port: 6379 }],
      },
      {
        to: [
          {
            podSelector: { matchLabels: { app: "redis" } },
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "cache" } },
          },
        ],
        ports: [{ port: 5432 }, { port: 6379 }],
      },
    ]);
    // Ingress ports are ours: nothing to translate.
    expect(r.policy.spec.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: { app: "db" } } }], ports: [{ port: 8080 }] },
    ]);
    expect(r.comment.join("\n")).not.toContain("DENIED");
  });

  it.each<[string, NetworkPolicyOptions, string]>([
    ["offline", {}, "spec.egress[0].to[0]: service shop/db: no cluster was read to find its selector"],
    [
      "not in the cluster",
      { services: new Map([["shop/db", null]]) },
      "service shop/db: no such Service in the cluster",
    ],
    [
      "without a selector",
      { services: new Map([["shop/db", { ports: [{ port: 5432 }] }]]) },
      "service shop/db: the Service has no selector",
    ],
  ])("a service it cannot resolve (%s) is dropped and named, never widened", (_, options, says) => {
    const { policy, comment } = exported(
      { egress: [{ to: [{ service: { name: "db" } }], ports: [{ port: 5432 }] }] },
      options,
    );
    // Not `[{ports: [5432]}]`: a rule without peers would allow 5432 to everyone.
    expect(policy.spec.egress).toEqual([]);
    const text = comment.join("\n");
    expect(text).toContain("DENIED by it although the baseline allows it");
    expect(text).toContain(says);
  });

  it("entities: cluster becomes every pod (said to be partial); world, host and the API server are named", () => {
    const { policy, comment } = exported({
      egress: [
        { to: [{ entity: "cluster" }, { entity: "world" }], ports: [{ port: 443 }] },
        { to: [{ entity: "kube-apiserver" }] },
        { to: [{ entity: "host" }], ports: [{ port: 10250 }] },
      ],
    });
    expect(policy.spec.egress).toEqual([{ to: [{ namespaceSelector: {} }], ports: [{ port: 443 }] }]);
    const text = comment.join("\n");
    expect(text).toContain(
      "spec.egress[0].to[1]: entity world: outside the cluster is 0.0.0.0/0 and ::/0 except",
    );
    expect(text).toContain("spec.egress[1].to[0]: entity kube-apiserver:");
    expect(text).toContain("spec.egress[2].to[0]: entity host:");
    expect(text).toContain("Expressed in part:\n   - spec.egress[0].to[0]: entity cluster became every pod");
  });

  it("says what restricts nothing (listeners, thresholds), what exceptions tolerate, and a missing DNS rule", () => {
    const { policy, comment } = exported({
      mode: "Learn",
      listeners: [{ port: 8080 }, { port: 53, protocol: "UDP" }],
      thresholds: { established: 100 },
      egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }], ports: [{ port: 5432 }] }],
      exceptions: [
        {
          rule: "UnexpectedEgress",
          address: "203.0.113.7",
          port: 443,
          reason: "vendor API\nuntil migration",
        },
        { rule: "TcpStateThreshold", reason: "known leak" },
      ],
    });
    expect(policy.spec.policyTypes).toEqual(["Egress"]);
    const text = comment.join("\n");
    expect(text).toContain(
      "spec.listeners (8080/TCP, 53/UDP): a NetworkPolicy restricts connections, not which ports may listen",
    );
    expect(text).toContain("spec.thresholds:");
    expect(text).toContain(
      'spec.exceptions: UnexpectedEgress 203.0.113.7, port 443 is tolerated by the baseline ("vendor API\\nuntil migration")',
    );
    expect(text).not.toContain("TcpStateThreshold");
    expect(text).toContain("mode Learn");
    expect(text).toContain("No egress rule allows DNS (53/UDP)");
    // Every comment line stays one line: free text is quoted, not spliced in.
    for (const line of comment) expect(line).not.toContain("\n");
  });

  it.each<[string, Partial<NetworkBaselineInput["spec"]>]>([
    ["a rule with no ports", { egress: [{ to: [{ podSelector: {} }] }] }],
    ["53/UDP", { egress: [{ ports: [{ port: 53, protocol: "UDP" }] }] }],
    ["a UDP range over 53", { egress: [{ ports: [{ port: 1, endPort: 1024, protocol: "UDP" }] }] }],
    ["every UDP port", { egress: [{ ports: [{ protocol: "UDP" }] }] }],
    ["a named dns port", { egress: [{ ports: [{ port: "dns", protocol: "UDP" }] }] }],
  ])("no DNS warning when egress allows it: %s", (_, spec) => {
    expect(exported(spec).comment.join("\n")).not.toContain("DNS");
  });
});
