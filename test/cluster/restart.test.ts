// The agent and operator watch the API server for days; API servers restart under them.
// This proves, against a real kube-apiserver, that a client-node informer comes back after
// its API server went away and catches up with what changed meanwhile.
//
// It starts its own control plane (the run's shared one must not go down under other
// files), and a second API server on the same etcd to make changes while the first is down.
import { CoreV1Api, type KubeConfig, makeInformer, type V1ConfigMap } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlPlane } from "./controlplane.js";
import { clusterContext, skipBecause, uniqueName } from "./env.js";
import { waitFor } from "./process.js";

let cp: ControlPlane | undefined;

beforeAll(async () => {
  if (clusterContext().existing) return;
  cp = await ControlPlane.start();
});

afterAll(async () => {
  await cp?.stop();
});

describe("API server restart", () => {
  it("an informer reconnects and sees the changes made while its API server was down", async (ctx) => {
    if (!cp) {
      skipBecause(
        ctx,
        "SOCKLENS_USE_EXISTING_CLUSTER=1: this test restarts the API server, which it cannot do there",
      );
      return;
    }
    const kc: KubeConfig = cp.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const ns = uniqueName("restart");
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const cm = (name: string, v: string): V1ConfigMap => ({ metadata: { name }, data: { v } });
    await core.createNamespacedConfigMap({ namespace: ns, body: cm("kept", "1") });
    await core.createNamespacedConfigMap({ namespace: ns, body: cm("doomed", "1") });

    const informer = makeInformer(kc, `/api/v1/namespaces/${ns}/configmaps`, () =>
      core.listNamespacedConfigMap({ namespace: ns }),
    );
    const seen: string[] = [];
    let errors = 0;
    informer.on("add", (o) => seen.push(`add ${o.metadata?.name} v=${o.data?.v}`));
    informer.on("update", (o) => seen.push(`update ${o.metadata?.name} v=${o.data?.v}`));
    informer.on("delete", (o) => seen.push(`delete ${o.metadata?.name}`));
    // client-node's informer stops on a connection error and leaves the retry to the
    // caller; restart it with a capped back-off, as the agent does.
    let delay = 250;
    let stopped = false;
    informer.on("error", () => {
      errors++;
      if (stopped) return;
      setTimeout(() => {
        if (!stopped) informer.start().catch(() => undefined);
      }, delay);
      delay = Math.min(delay * 2, 2_000);
    });
    informer.on("connect", () => {
      delay = 250;
    });

    try {
      await informer.start();
      await waitFor("initial list", async () => informer.list().length === 2, { timeoutMs: 10_000 });
      seen.length = 0;

      await cp.stopApiServer();
      // While it is down, change things through a second API server on the same etcd.
      const other = await cp.startExtraApiServer();
      try {
        const core2 = other.kubeConfig().makeApiClient(CoreV1Api);
        await core2.replaceNamespacedConfigMap({
          name: "kept",
          namespace: ns,
          body: {
            ...(await core2.readNamespacedConfigMap({ name: "kept", namespace: ns })),
            data: { v: "2" },
          },
        });
        await core2.createNamespacedConfigMap({ namespace: ns, body: cm("born-while-down", "1") });
        await core2.deleteNamespacedConfigMap({ name: "doomed", namespace: ns });
      } finally {
        await other.stop();
      }
      // Nothing can have reached the informer: its only API server is still down.
      expect(seen).toEqual([]);

      await cp.startApiServer();
      await waitFor(
        "the informer to catch up",
        async () =>
          informer.get("born-while-down", ns) !== undefined &&
          informer.get("doomed", ns) === undefined &&
          informer.get("kept", ns)?.data?.v === "2",
        { timeoutMs: 60_000, describe: () => `seen: ${JSON.stringify(seen)}; errors: ${errors}` },
      );
      expect(errors).toBeGreaterThan(0); // it really lost the connection
      expect(seen).toEqual(
        expect.arrayContaining(["update kept v=2", "add born-while-down v=1", "delete doomed"]),
      );

      // And the watch is live again: a change made now arrives as an event.
      await core.createNamespacedConfigMap({ namespace: ns, body: cm("after", "1") });
      await waitFor("event after the restart", async () => seen.includes("add after v=1"), {
        timeoutMs: 10_000,
      });
      expect(
        informer
          .list()
          .map((o) => o.metadata?.name)
          .sort(),
      ).toEqual(["after", "born-while-down", "kept"]);
    } finally {
      stopped = true;
      await informer.stop();
    }
  });
});
