/**
 * NetworkObservations keep flowing when violations clear. The agent writes each observation
 * by server-side apply; a window with violations followed by one without must leave
 * `spec.violations: {}` (and an emptied `tcpStates: {}`) on the server, not a 422. Failed
 * writes are logged once per kind of failure, with the API server's own message.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
} from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import type { NetworkObservationSpec } from "../../src/api/v1alpha1/networkobservation.js";
import { ObservationWriter } from "../../src/kube/observations.js";
import { adminKubeConfig, createNamespace } from "./env.js";
import { applyCrds, expectApiError, parseManifests, repoCrds } from "./kube.js";

const NODE = "node-a";

function spec(over: Partial<NetworkObservationSpec> = {}): NetworkObservationSpec {
  return {
    baseline: "web",
    nodeName: NODE,
    windowStart: "2026-01-01T00:00:00.000Z",
    windowEnd: "2026-01-01T00:00:30.000Z",
    pods: ["web-0"],
    listeners: [],
    egress: [],
    ingress: [],
    tcpStates: {},
    violations: {},
    ...over,
  };
}

describe("NetworkObservation writes", () => {
  let kc: KubeConfig;
  let ns: string;
  let custom: CustomObjectsApi;
  const read = async (name: string) =>
    (
      (await custom.getNamespacedCustomObject({
        group: "socklens.io",
        version: "v1alpha1",
        plural: "networkobservations",
        namespace: ns,
        name,
      })) as { spec: NetworkObservationSpec }
    ).spec;

  beforeAll(async () => {
    kc = adminKubeConfig();
    await applyCrds(kc, await repoCrds(new URL("../..", import.meta.url).pathname));
    ns = await createNamespace(kc, "observations");
    custom = kc.makeApiClient(CustomObjectsApi);
  });

  it("clears violations and TCP states: {…} then {} reads back {}", async () => {
    const logs: string[] = [];
    const writer = new ObservationWriter(kc, { log: (m, f) => logs.push(JSON.stringify({ m, ...f })) });
    await writer.write(
      ns,
      spec({ tcpStates: { ESTABLISHED: 3, CLOSE_WAIT: 41 }, violations: { UnexpectedEgress: 2 } }),
    );
    expect(await read(`web.${NODE}`)).toMatchObject({
      tcpStates: { ESTABLISHED: 3, CLOSE_WAIT: 41 },
      violations: { UnexpectedEgress: 2 },
    });
    // One key less: the remaining keys are the whole map, not a merge with the old one.
    await writer.write(ns, spec({ tcpStates: { ESTABLISHED: 1 }, violations: { UnexpectedEgress: 2 } }));
    expect((await read(`web.${NODE}`)).tcpStates).toEqual({ ESTABLISHED: 1 });
    // The window in which the violations are gone, and the pod has no TCP sockets left.
    await writer.write(ns, spec({ windowEnd: "2026-01-01T00:01:00.000Z" }));
    expect(writer.stats, logs.join("\n")).toMatchObject({ written: 3, failed: 0 });
    expect(logs).toEqual([]);
    const cleared = await read(`web.${NODE}`);
    expect(cleared.violations).toEqual({});
    expect(cleared.tcpStates).toEqual({});
    expect(cleared.windowEnd).toBe("2026-01-01T00:01:00.000Z");
    // And violations can come back after that.
    await writer.write(ns, spec({ violations: { UnexpectedListener: 1 } }));
    expect((await read(`web.${NODE}`)).violations).toEqual({ UnexpectedListener: 1 });
  });

  it("logs a failed write once per kind of failure, with the API server's message", async () => {
    const logs: Record<string, unknown>[] = [];
    const writer = new ObservationWriter(kc, { log: (m, f) => logs.push({ m, ...f }) });
    // The server rejects a negative count (minimum: 0): HTTP 422, twice, logged once.
    const bad = spec({ baseline: "bad", violations: { UnexpectedEgress: -1 } });
    await writer.write(ns, bad);
    await writer.write(ns, bad);
    // Another kind of failure: the namespace does not exist.
    await writer.write(`missing-${ns}`, spec({ baseline: "bad" }));
    expect(writer.stats.failed).toBe(3);
    expect(logs).toHaveLength(2);
    expect(logs[0]).toMatchObject({
      m: "observation write failed",
      level: "warn",
      observation: `${ns}/bad.${NODE}`,
      kind: "HTTP 422 Invalid",
      failed: 1,
    });
    expect(logs[0]?.error).toMatch(
      /spec\.violations\.UnexpectedEgress.*should be greater than or equal to 0/,
    );
    expect(logs[1]).toMatchObject({ kind: "HTTP 404 NotFound", observation: `missing-${ns}/bad.${NODE}` });
    expect(logs[1]?.error).toMatch(/namespaces? "missing-/);
    // One of the two written again: the other still fails, nothing new to say.
    await writer.write(ns, spec({ baseline: "bad" }));
    await writer.write(`missing-${ns}`, spec({ baseline: "bad" }));
    expect(logs).toHaveLength(2);
    // Both written again: said once; after that the next failure is news again.
    await kc.makeApiClient(CoreV1Api).createNamespace({
      body: { metadata: { name: `missing-${ns}`, labels: { "socklens.io/test": "true" } } },
    });
    await writer.write(`missing-${ns}`, spec({ baseline: "bad" }));
    expect(logs.slice(2)).toEqual([{ m: "observation writes recovered", failed: 4 }]);
    await writer.write(ns, bad);
    expect(logs.slice(3)).toMatchObject([{ kind: "HTTP 422 Invalid", failed: 5 }]);
  });

  it("why the maps are atomic: a granular map emptied by apply becomes null and is rejected", async () => {
    // The schema NetworkObservation had before: a plain map of counts. Server-side apply
    // owns each key separately; applying {} removes the keys the manager applied before,
    // and structured-merge-diff leaves the emptied map null, which `type: object` rejects.
    // If a newer kube-apiserver keeps {} here, the atomic marker is no longer needed.
    const [crd] = parseManifests(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: counters.test.socklens.io}
spec:
  group: test.socklens.io
  names: {kind: Counter, plural: counters, singular: counter, listKind: CounterList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [counts]
              properties:
                counts: {type: object, additionalProperties: {type: integer}}
`);
    await applyCrds(kc, [crd as never]);
    const api = KubernetesObjectApi.makeApiClient(kc);
    const counter = (counts: Record<string, number>) =>
      ({
        apiVersion: "test.socklens.io/v1",
        kind: "Counter",
        metadata: { name: "c", namespace: ns },
        spec: { counts },
      }) as never;
    const applyCounts = (counts: Record<string, number>) =>
      api.patch(counter(counts), undefined, undefined, "socklens-agent", true, PatchStrategy.ServerSideApply);
    await applyCounts({});
    await applyCounts({ a: 1 });
    const e = await expectApiError(() => applyCounts({}));
    expect(e.code).toBe(422);
    expect(e.message).toContain('spec.counts in body must be of type object: "null"');
  });
});
