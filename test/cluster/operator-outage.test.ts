/**
 * The operator through an API server outage (private control plane): its watches fail and
 * restart with back-off while the server is down, and a baseline created after it comes back
 * gets its status; a status write that fails is retried by the queue.
 */
import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BaselineController } from "../../src/operator/controller.js";
import { ControlPlane } from "./controlplane.js";
import { clusterContext, skipBecause } from "./env.js";
import { applyCrds, repoCrds } from "./kube.js";
import { waitFor } from "./process.js";

const nbl = { group: "socklens.io", version: "v1alpha1", plural: "networkbaselines" } as const;

describe("operator through an API server outage", () => {
  let cp: ControlPlane | undefined;
  let kc: KubeConfig;
  let controller: BaselineController;
  const stop = new AbortController();
  const errors: string[] = [];

  beforeAll(async () => {
    if (clusterContext().existing) return;
    cp = await ControlPlane.start();
    kc = cp.kubeConfig();
    await applyCrds(kc, await repoCrds(new URL("../..", import.meta.url).pathname));
    controller = new BaselineController(kc, {
      minBackoffMs: 200,
      maxBackoffMs: 1000,
      onError: (k, e) => errors.push(`${k}: ${e}`),
    });
    void controller.run(stop.signal);
    await waitFor("controller synced", async () => controller.synced, { timeoutMs: 20_000 });
  });

  afterAll(async () => {
    stop.abort();
    await controller?.stop();
    await cp?.stop();
  });

  it("reconciles what changed while it was cut off", async (ctx) => {
    if (!cp) return skipBecause(ctx, "SOCKLENS_USE_EXISTING_CLUSTER=1: this test stops the API server");
    const custom = kc.makeApiClient(CustomObjectsApi);
    const body = (name: string) => ({
      apiVersion: "socklens.io/v1alpha1",
      kind: "NetworkBaseline",
      metadata: { name },
      spec: { podSelector: {} },
    });
    const ready = async (name: string) =>
      (
        (await custom.getNamespacedCustomObject({ ...nbl, namespace: "default", name })) as {
          status?: { conditions?: { type: string; status: string }[] };
        }
      ).status?.conditions?.find((c) => c.type === "Ready")?.status;

    await custom.createNamespacedCustomObject({ ...nbl, namespace: "default", body: body("before") });
    await waitFor("status before the outage", async () => (await ready("before")) === "True", {
      timeoutMs: 20_000,
    });

    await cp.stopApiServer();
    await waitFor("the watches to notice", async () => errors.length > 0, { timeoutMs: 20_000 });
    await cp.startApiServer();

    await custom.createNamespacedCustomObject({ ...nbl, namespace: "default", body: body("after") });
    await waitFor("status after the outage", async () => (await ready("after")) === "True", {
      timeoutMs: 30_000,
    });
    // The status can land on the server a moment before the controller counts its write.
    await waitFor("the controller to count both writes", async () => controller.stats.written >= 2, {
      timeoutMs: 5_000,
    });
    expect(controller.stats.written).toBeGreaterThanOrEqual(2);
  });
});
