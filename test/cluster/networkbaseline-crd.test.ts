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
  ])("rejects %s with the server's own message", async (_n, spec, message) => {
    const err = await expectApiError(() =>
      api.createNamespacedCustomObject({ ...nbl, namespace: ns, body: baseline("bad", spec) }),
    );
    expect(err.code).toBe(422);
    expect(err.message).toContain(message);
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
    expect(res.columnDefinitions.map((c) => c.name.toUpperCase())).toEqual([
      "NAME",
      "MODE",
      "PODS",
      "VIOLATIONS",
      "LAST-VIOLATION",
      "READY",
      "AGE",
    ]);
    expect(res.rows[0]?.cells.slice(0, 4)).toEqual(["status", "Alert", 3, 4]);
    expect(res.rows[0]?.cells[5]).toBe("True");
  });
});

async function fetchTable(
  path: string,
): Promise<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }> {
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
