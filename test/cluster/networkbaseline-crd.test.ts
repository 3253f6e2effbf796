/**
 * The generated NetworkBaseline CRD against a real kube-apiserver: it installs, the samples
 * are accepted, the CEL rules reject what they should with the server's own message, status
 * goes through /status, and the printer columns are what `kubectl get nbl` shows.
 */
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { NetworkBaseline } from "../../src/api/v1alpha1/networkbaseline.js";
import { adminKubeConfig, createNamespace } from "./env.js";
import { applyCrds, expectApiError, repoCrds } from "./kube.js";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const nbl = { group: "socklens.io", version: "v1alpha1", plural: "networkbaselines" } as const;

let kc: KubeConfig;
let ns: string;
let api: CustomObjectsApi;

function baseline(name: string, spec: Record<string, unknown>): KubernetesObject & { spec: unknown } {
  return {
    apiVersion: "socklens.io/v1alpha1",
    kind: "NetworkBaseline",
    metadata: { name },
    spec: { podSelector: {}, ...spec },
  };
}

beforeAll(async () => {
  kc = adminKubeConfig();
  ns = await createNamespace(kc, "nbl");
  const crds = await repoCrds(repoRoot);
  expect(crds.map((c) => c.metadata?.name).sort()).toEqual([
    "networkbaselines.socklens.io",
    "networkobservations.socklens.io",
  ]);
  await applyCrds(kc, crds);
  api = kc.makeApiClient(CustomObjectsApi);
});

describe("NetworkBaseline CRD on a real API server", () => {
  it("accepts every sample in config/samples", async () => {
    const dir = join(repoRoot, "config", "samples");
    for (const file of (await readdir(dir)).filter((f) => f.endsWith(".yaml"))) {
      for (const doc of parseAllDocuments(await readFile(join(dir, file), "utf8"))) {
        const body = doc.toJS() as KubernetesObject & { spec: unknown };
        const created = (await api.createNamespacedCustomObject({
          ...nbl,
          namespace: ns,
          body: { ...body, metadata: { name: body.metadata?.name } },
        })) as typeof body;
        // Round trip: the server stores what our schema parses it to, defaults included.
        expect(created.spec).toEqual(NetworkBaseline.parse(body).spec);
      }
    }
  });

  it.each([
    [
      "endPort below port",
      { listeners: [{ port: 9000, endPort: 8000 }] },
      "endPort needs a numeric port and must be >= port",
    ],
    [
      "an invalid CIDR",
      { egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/33" } }] }] },
      "spec.egress[0].to[0].ipBlock.cidr in body should match",
    ],
    [
      "two peer kinds in one peer",
      { egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" }, entity: "world" }] }] },
      "a peer is exactly one of",
    ],
    [
      "a bad port name",
      { ingress: [{ ports: [{ port: "Not_A_Name" }] }] },
      'spec.ingress[0].ports[0].port: Invalid value: "Not_A_Name"',
    ],
    [
      "a port out of range",
      { listeners: [{ port: 70000 }] },
      "spec.listeners[0].port in body should be less than or equal to 65535",
    ],
    ["an unknown mode", { mode: "Enforce" }, 'Unsupported value: "Enforce"'],
    [
      "In without values",
      { podSelector: { matchExpressions: [{ key: "app", operator: "In" }] } },
      "values must be non-empty for In and NotIn",
    ],
    [
      "a listener address that is not an IP",
      { listeners: [{ port: 80, address: "localhost" }] },
      'spec.listeners[0].address: Invalid value: "localhost"',
    ],
    ["a bad duration", { learning: { duration: "a day" } }, "spec.learning.duration"],
    // The same rules as `socklens validate` (ADR 0010), where the CRD can say them.
    [
      "a CIDR with host bits set",
      { egress: [{ to: [{ ipBlock: { cidr: "10.1.2.3/8" } }] }] },
      'spec.egress[0].to[0].ipBlock.cidr: Invalid value: "10.1.2.3/8": must not have host bits set',
    ],
    [
      "an except with host bits set, nested as deep as CIDRs go",
      { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.96.7.1/12"] } }] }] },
      'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.96.7.1/12": must not have host bits set',
    ],
    [
      "an IPv6 CIDR with host bits set",
      { egress: [{ to: [{ ipBlock: { cidr: "fd00::1/8" } }] }] },
      'spec.egress[0].to[0].ipBlock.cidr: Invalid value: "fd00::1/8": must not have host bits set',
    ],
    [
      "an expiry on a day that does not exist",
      { exceptions: [{ rule: "UnexpectedEgress", reason: "x", expires: "2026-02-30T00:00:00Z" }] },
      "spec.exceptions[0].expires in body must be of type date-time",
    ],
    [
      'an expiry of "0"',
      { exceptions: [{ rule: "UnexpectedEgress", reason: "x", expires: "0" }] },
      "spec.exceptions[0].expires in body must be of type date-time",
    ],
    [
      "an expiry without a time",
      { exceptions: [{ rule: "UnexpectedEgress", reason: "x", expires: "2026-03-31" }] },
      "spec.exceptions[0].expires in body must be of type date-time",
    ],
    [
      "a duration of 10^20 days",
      { learning: { duration: "99999999999999999999d" } },
      'spec.learning.duration: Invalid value: "99999999999999999999d": must be at most 365d',
    ],
    ["a duration a day over the bound", { learning: { duration: "365d24h" } }, "must be at most 365d"],
    [
      "an exception address with host bits set",
      { exceptions: [{ rule: "UnexpectedEgress", reason: "x", address: "203.0.113.9/24" }] },
      "spec.exceptions[0].address: Invalid value: address must be an IP address or a CIDR without host bits set",
    ],
    [
      "an exception address that is no address",
      { exceptions: [{ rule: "UnexpectedEgress", reason: "x", address: "db.example.com" }] },
      "address must be an IP address or a CIDR without host bits set",
    ],
  ])("rejects %s with the server's own message", async (_n, spec, message) => {
    const err = await expectApiError(() =>
      api.createNamespacedCustomObject({ ...nbl, namespace: ns, body: baseline("bad", spec) }),
    );
    expect(err.code).toBe(422);
    expect(err.message).toContain(message);
  });

  it("accepts the edges of the same rules: 365d, a leap day with an offset, a /32, an exception for one address", async () => {
    const spec = {
      learning: { duration: "365d" },
      egress: [{ to: [{ ipBlock: { cidr: "10.1.2.3/32" } }, { ipBlock: { cidr: "fd00::/8" } }] }],
      exceptions: [
        {
          rule: "UnexpectedEgress",
          reason: "x",
          address: "2001:db8::1",
          expires: "2028-02-29T23:59:59+02:00",
        },
        { rule: "UnexpectedEgress", reason: "y", address: "203.0.113.0/24" },
      ],
    };
    const created = (await api.createNamespacedCustomObject({
      ...nbl,
      namespace: ns,
      body: baseline("edges", spec),
    })) as { spec: unknown };
    expect(created.spec).toMatchObject(spec);
  });

  it("unknown fields: refused under kubectl's strict field validation, else pruned (never stored)", async () => {
    // What `kubectl apply` and `kubectl create` send by default (--validate=strict).
    const err = await expectApiError(() =>
      api.createNamespacedCustomObject({
        ...nbl,
        namespace: ns,
        body: baseline("typo", { listners: [{ port: 80 }] }),
        fieldValidation: "Strict",
      }),
    );
    expect(err.code).toBe(400);
    expect(err.message).toContain('unknown field "spec.listners"');
    // Other clients get the server's default (Warn): the field is dropped, so an object read
    // back from the server (what the agent and the operator parse) never carries one.
    const stored = (await api.createNamespacedCustomObject({
      ...nbl,
      namespace: ns,
      body: baseline("typo", { listners: [{ port: 80 }] }),
    })) as { spec: Record<string, unknown> };
    expect(Object.keys(stored.spec).sort()).toEqual(["mode", "podSelector"]);
  });

  it("refuses a name that socklens validate refuses (an RFC 1123 subdomain)", async () => {
    const err = await expectApiError(() =>
      api.createNamespacedCustomObject({ ...nbl, namespace: ns, body: baseline("Web_1", {}) }),
    );
    expect(err.code).toBe(422);
    expect(err.message).toContain("a lowercase RFC 1123 subdomain");
  });

  it("updates status through /status and shows the printer columns", async () => {
    await api.createNamespacedCustomObject({
      ...nbl,
      namespace: ns,
      body: baseline("status", { mode: "Alert", listeners: [{ port: 8080 }] }),
    });
    const status = {
      observedGeneration: 1,
      matchedPods: 3,
      violations: { total: 4, lastTime: "2026-11-23T12:00:00Z", byRule: { UnexpectedEgress: 4 } },
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Compiled",
          message: "baseline compiled",
          lastTransitionTime: "2026-11-23T12:00:00Z",
          observedGeneration: 1,
        },
      ],
    };
    await api.patchNamespacedCustomObjectStatus({
      ...nbl,
      namespace: ns,
      name: "status",
      body: [{ op: "add", path: "/status", value: status }],
    });
    const got = (await api.getNamespacedCustomObject({ ...nbl, namespace: ns, name: "status" })) as {
      status: typeof status;
    };
    expect(got.status).toEqual(status);

    // What `kubectl get nbl` prints: ask for a Table, as kubectl does.
    const res = await fetchTable(`/apis/socklens.io/v1alpha1/namespaces/${ns}/networkbaselines/status`);
    // kubectl shows priority 0 by default and adds priority 1 with -o wide.
    expect(res.columnDefinitions.filter((c) => !c.priority).map((c) => c.name.toUpperCase())).toEqual([
      "NAME",
      "MODE",
      "PODS",
      "VIOLATIONS",
      "LAST-VIOLATION",
      "READY",
      "AGE",
    ]);
    expect(res.columnDefinitions.filter((c) => c.priority === 1).map((c) => c.name.toUpperCase())).toEqual([
      "LEARNING",
      "VIOLATING",
      "GENERATION",
      "OBSERVED-GENERATION",
    ]);
    expect(res.rows[0]?.cells.slice(0, 4)).toEqual(["status", "Alert", 3, 4]);
    expect(res.rows[0]?.cells[5]).toBe("True");
  });
});

async function fetchTable(
  path: string,
): Promise<{ columnDefinitions: { name: string; priority?: number }[]; rows: { cells: unknown[] }[] }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("no current cluster in kubeconfig");
  const opts: { headers: Record<string, string> } & Record<string, unknown> = { headers: {} };
  await kc.applyToHTTPSOptions(opts as never);
  const { request } = await import("node:https");
  return new Promise((resolve, reject) => {
    const url = new URL(cluster.server + path);
    const req = request(
      {
        ...opts,
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "GET",
        headers: { ...opts.headers, Accept: "application/json;as=Table;v=v1;g=meta.k8s.io" },
      },
      (res) => {
        let body = "";
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(JSON.parse(body))
            : reject(new Error(`${res.statusCode}: ${body}`)),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}
