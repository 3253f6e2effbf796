/**
 * `socklens baseline export --as networkpolicy` against a real API server: a NetworkBaseline
 * with selector, ipBlock, Service and entity peers and named ports is exported through the
 * CLI, and the NetworkPolicy it writes is applied (the API server validates the shape) and
 * read back unchanged. A Service peer becomes the Service's selector with its targetPort;
 * what a NetworkPolicy cannot say is named in the header comment and left out, never widened.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, type KubeConfig, NetworkingV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../host/sandbox.js";
import { adminKubeConfig, clusterContext, createNamespace } from "./env.js";
import { apply, applyCrds, createBaseline, parseManifests, repoCrds } from "./kube.js";

describe("baseline export --as networkpolicy", () => {
  const dir = mkdtempSync(join(tmpdir(), "socklens-netpol-"));
  let kc: KubeConfig;
  let ns: string;
  let other: string;
  let kubeconfig: string;

  const spec = () => ({
    podSelector: { matchLabels: { app: "web" } },
    mode: "Alert",
    listeners: [{ port: 8080 }],
    egress: [
      {
        to: [
          { podSelector: { matchLabels: { app: "db" } } },
          { ipBlock: { cidr: "10.0.0.0/8", except: ["10.96.0.0/12"] } },
        ],
        ports: [{ port: 5432 }, { port: 9000, endPort: 9010, protocol: "TCP" }],
      },
      // A Service here and one in another namespace: their selectors, their targetPorts.
      { to: [{ service: { name: "db" } }], ports: [{ port: 5432 }] },
      { to: [{ service: { name: "dns", namespace: other } }], ports: [{ port: 53, protocol: "UDP" }] },
      // Not expressible: world; a Service without a selector. Dropped, not widened.
      { to: [{ entity: "world" }, { service: { name: "legacy" } }], ports: [{ port: 443 }] },
    ],
    ingress: [
      {
        from: [
          {
            namespaceSelector: { matchLabels: { team: "edge" } },
            podSelector: { matchLabels: { app: "proxy" } },
          },
        ],
        ports: [{ port: "http" }],
      },
    ],
    thresholds: { tcpStates: { CLOSE_WAIT: 20 } },
  });

  beforeAll(async () => {
    kc = adminKubeConfig();
    kubeconfig = clusterContext().kubeconfig;
    await applyCrds(kc, await repoCrds(new URL("../..", import.meta.url).pathname));
    ns = await createNamespace(kc, "netpol");
    other = await createNamespace(kc, "netpol-dns");
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: "db" },
        spec: { selector: { app: "db", tier: "data" }, ports: [{ port: 5432, targetPort: "pg" }] },
      },
    });
    await core.createNamespacedService({
      namespace: other,
      body: {
        metadata: { name: "dns" },
        spec: { selector: { k8s: "dns" }, ports: [{ port: 53, targetPort: 5353, protocol: "UDP" }] },
      },
    });
    // No selector: its endpoints are managed by hand.
    await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: "legacy" }, spec: { ports: [{ port: 443 }] } },
    });
    await createBaseline(kc, ns, "web", spec());
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes a NetworkPolicy the API server accepts and stores as exported", async () => {
    const out = join(dir, "web-netpol.yaml");
    const r = runCli([
      "baseline",
      "export",
      `${ns}/web`,
      "--as",
      "networkpolicy",
      "--kubeconfig",
      kubeconfig,
      "-o",
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(text).toMatch(
      new RegExp(
        `^# NetworkPolicy exported by socklens baseline export --as networkpolicy from NetworkBaseline ${ns}/web \\(generation 1\\)`,
      ),
    );
    expect(text).toContain(
      `#   - spec.egress[3].to[0]: entity world: outside the cluster is 0.0.0.0/0 and ::/0 except the cluster's pod, service and node CIDRs`,
    );
    expect(text).toContain(`#   - spec.egress[3].to[1]: service ${ns}/legacy: the Service has no selector`);
    expect(text).toContain("#   - spec.listeners (8080/TCP): a NetworkPolicy restricts connections");
    expect(text).toContain("#   - spec.thresholds:");
    // 53/UDP is allowed (to the DNS Service's pods): no DNS warning.
    expect(text).not.toContain("No egress rule allows DNS");

    const [policy] = parseManifests(text);
    await apply(kc, [policy as never]);
    // Read raw, as the API server keeps it (client-node's typed model spells `from` as
    // `_from`); the server defaults protocol to TCP. Nothing else may differ.
    const stored = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: "networking.k8s.io",
      version: "v1",
      plural: "networkpolicies",
      namespace: ns,
      name: "web",
    })) as { metadata: { annotations?: Record<string, string> }; spec: unknown };
    expect(stored.metadata.annotations?.["socklens.io/exported-from"]).toBe(`NetworkBaseline ${ns}/web`);
    expect(stored.spec).toEqual({
      podSelector: { matchLabels: { app: "web" } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { team: "edge" } },
              podSelector: { matchLabels: { app: "proxy" } },
            },
          ],
          ports: [{ port: "http", protocol: "TCP" }],
        },
      ],
      egress: [
        {
          to: [
            { podSelector: { matchLabels: { app: "db" } } },
            { ipBlock: { cidr: "10.0.0.0/8", except: ["10.96.0.0/12"] } },
          ],
          ports: [
            { port: 5432, protocol: "TCP" },
            { port: 9000, endPort: 9010, protocol: "TCP" },
          ],
        },
        {
          to: [{ podSelector: { matchLabels: { app: "db", tier: "data" } } }],
          ports: [
            { port: 5432, protocol: "TCP" },
            { port: "pg", protocol: "TCP" },
          ],
        },
        {
          to: [
            {
              podSelector: { matchLabels: { k8s: "dns" } },
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": other } },
            },
          ],
          ports: [
            { port: 53, protocol: "UDP" },
            { port: 5353, protocol: "UDP" },
          ],
        },
      ],
    });
  });

  it("works from a file without a cluster, naming the Services it could not resolve", async () => {
    const file = join(dir, "web.yaml");
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: "socklens.io/v1alpha1",
        kind: "NetworkBaseline",
        metadata: { name: "web-offline", namespace: ns },
        spec: { ...spec(), ingress: undefined },
      }),
    );
    const r = runCli(["baseline", "export", "--from-file", file, "--as", "networkpolicy"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `#   - spec.egress[1].to[0]: service ${ns}/db: no cluster was read to find its selector`,
    );
    expect(r.stdout).toContain(
      "# Ingress: not checked by the baseline (absent), so not restricted by this policy either.",
    );
    const policy = parse(
      r.stdout
        .split("\n")
        .filter((l) => !l.startsWith("#"))
        .join("\n"),
    ) as {
      spec: { policyTypes: string[]; egress: unknown[] };
    };
    expect(policy.spec.policyTypes).toEqual(["Egress"]);
    // Only the first rule survives: each Service rule had nothing else to allow.
    expect(policy.spec.egress).toHaveLength(1);
    await apply(kc, parseManifests(r.stdout) as never[]);
    const stored = await kc
      .makeApiClient(NetworkingV1Api)
      .readNamespacedNetworkPolicy({ namespace: ns, name: "web-offline" });
    expect(stored.spec?.policyTypes).toEqual(["Egress"]);
    expect(stored.spec?.ingress).toBeUndefined();

    // The default stays the learned baseline: this file has no status.learned.
    const learned = runCli(["baseline", "export", "--from-file", file]);
    expect(learned.code).toBe(2);
    expect(learned.stderr).toContain(`NetworkBaseline ${ns}/web-offline has learned nothing yet`);
  });

  it("by default still exports what was learned; that file then exports as a policy", async () => {
    await createBaseline(kc, ns, "learner", {
      podSelector: { matchLabels: { app: "learner" } },
      mode: "Learn",
    });
    await kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObjectStatus({
      group: "socklens.io",
      version: "v1alpha1",
      plural: "networkbaselines",
      namespace: ns,
      name: "learner",
      body: [
        {
          op: "add",
          path: "/status",
          value: {
            learned: {
              listeners: [{ port: 9999, protocol: "TCP" }],
              egress: [{ address: "10.0.0.5", port: 5432, protocol: "TCP" }],
            },
          },
        },
      ],
    });
    const file = join(dir, "learner.yaml");
    const r = runCli(["baseline", "export", `${ns}/learner`, "--kubeconfig", kubeconfig, "-o", file]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(
      /^# Exported by socklens baseline export from NetworkBaseline .*\(status\.learned\)/,
    );
    expect(text).toContain("mode: Alert");
    const policy = runCli(["baseline", "export", "--from-file", file, "--as", "networkpolicy"]);
    expect(policy.code, policy.stderr).toBe(0);
    const [np] = parseManifests(policy.stdout);
    expect((np as unknown as { spec: unknown }).spec).toMatchObject({
      podSelector: { matchLabels: { app: "learner" } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: [{ to: [{ ipBlock: { cidr: "10.0.0.5/32" } }], ports: [{ port: 5432, protocol: "TCP" }] }],
    });
    await apply(kc, [np as never]);
  });

  it("refuses what it cannot export honestly, and bad input, with exit 2", () => {
    const file = join(dir, "listeners-only.yaml");
    writeFileSync(
      file,
      `apiVersion: socklens.io/v1alpha1\nkind: NetworkBaseline\nmetadata: {name: l, namespace: ${ns}}\nspec:\n  podSelector: {}\n  listeners: [{port: 80}]\n`,
    );
    const none = runCli(["baseline", "export", "--from-file", file, "--as", "networkpolicy"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("checks neither egress nor ingress");
    const bad = runCli(["baseline", "export", `${ns}/web`, "--as", "calico", "--kubeconfig", kubeconfig]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--as: "calico" is not one of baseline, networkpolicy');
    const missing = runCli([
      "baseline",
      "export",
      `${ns}/nope`,
      "--as",
      "networkpolicy",
      "--kubeconfig",
      kubeconfig,
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`no NetworkBaseline ${ns}/nope`);
  });
});
