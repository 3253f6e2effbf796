/**
 * A slimmed informer lists a page at a time (src/kube/watcher.ts pagedList): at 500 nodes the
 * operator's first list of 10,000 pods, deserialized whole, ran its 128 MiB heap out of
 * memory before the transform could slim it (bench/README.md, cluster scale). On the real API
 * server, with pages of 2: every pod arrives, slimmed, through several pages of one list.
 */
import { CoreV1Api, type KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLURAL as BASELINES } from "../../src/api/v1alpha1/networkbaseline.js";
import { CLUSTER_KINDS, customKind, type ListPage, makeApis } from "../../src/kube/kinds.js";
import { resilientInformer, type Watched, watchDefaults } from "../../src/kube/watcher.js";
import { slimBaseline, slimPod } from "../../src/operator/slim.js";
import { REPO } from "../host/sandbox.js";
import { adminKubeConfig, createNamespace } from "./env.js";
import { applyCrds, createBaseline, repoCrds } from "./kube.js";
import { waitFor } from "./process.js";

describe("informer lists in pages", () => {
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  let ns: string;
  let informer: Watched | undefined;
  let custom: Watched | undefined;

  beforeAll(async () => {
    await applyCrds(kc, await repoCrds(REPO));
    ns = await createNamespace(kc, "paging");
    for (let i = 0; i < 5; i++) await createBaseline(kc, ns, `b${i}`, { podSelector: {}, listeners: [] });
    for (let i = 0; i < 7; i++)
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: `p${i}`, labels: { app: "paged" } },
          spec: { nodeName: "sl-paging", containers: [{ name: "app", image: "example.invalid/app" }] },
        },
      });
  });

  afterAll(async () => {
    await informer?.stop();
    await custom?.stop();
    await core.deleteCollectionNamespacedPod({ namespace: ns, gracePeriodSeconds: 0 });
    await core.deleteNamespace({ name: ns });
  });

  it("asks for pages of two, follows continue to the end, and caches every pod slimmed", async () => {
    const apis = makeApis(kc);
    const pages: ListPage[] = [];
    const kind = CLUSTER_KINDS.pods;
    informer = resilientInformer<KubernetesObject>(
      kc,
      kind.name,
      kind.path,
      (page) => {
        if (page) pages.push(page);
        // This test's namespace only, through the same call the operator makes.
        return kind.list(apis, `metadata.namespace=${ns}`, page);
      },
      () => undefined,
      watchDefaults({ pageSize: 2 }),
      `metadata.namespace=${ns}`,
      slimPod,
    );
    await waitFor("the informer's first list", async () => informer?.synced === true, { timeoutMs: 30_000 });
    const cached = informer.list(ns);
    expect(cached.map((p) => p.metadata?.name).sort()).toEqual(["p0", "p1", "p2", "p3", "p4", "p5", "p6"]);
    // Slimmed: labels and the node kept (what the operator reads), containers dropped.
    for (const p of cached) {
      expect(p.metadata?.labels).toEqual({ app: "paged" });
      expect((p as { spec?: unknown }).spec).toEqual({ nodeName: "sl-paging" });
    }
    // 7 pods in pages of at most 2: at least four pages (the API server may return fewer than
    // `limit` when a field selector filters inside a page), the first without a continue
    // token, the rest with one.
    expect(pages.length).toBeGreaterThanOrEqual(4);
    expect(pages.every((p) => p.limit === 2)).toBe(true);
    expect(pages[0]?._continue).toBeUndefined();
    expect(pages.slice(1).every((p) => typeof p._continue === "string" && p._continue.length > 0)).toBe(true);
  });

  it("follows a custom resource's continue too (raw JSON: metadata.continue, not _continue)", async () => {
    // The operator's baselines and observations are custom objects; their lists are not
    // typed, so the token sits where the API server put it. Every baseline of the cluster
    // (other files' too) must arrive, not just the first page's.
    const apis = makeApis(kc);
    const kind = customKind(BASELINES);
    const all = (await kind.list(apis)).items.length;
    const pages: ListPage[] = [];
    custom = resilientInformer<KubernetesObject>(
      kc,
      kind.name,
      kind.path,
      (page) => {
        if (page) pages.push(page);
        return kind.list(apis, undefined, page);
      },
      () => undefined,
      watchDefaults({ pageSize: 2 }),
      undefined,
      slimBaseline,
    );
    await waitFor("the custom informer's first list", async () => custom?.synced === true, {
      timeoutMs: 30_000,
    });
    expect(
      custom
        .list(ns)
        .map((b) => b.metadata?.name)
        .sort(),
    ).toEqual(["b0", "b1", "b2", "b3", "b4"]);
    expect(custom.list().length).toBeGreaterThanOrEqual(all);
    expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(all / 2));
  });
});
