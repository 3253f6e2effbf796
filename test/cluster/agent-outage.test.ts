/**
 * An API server outage under a running agent: scans go on with the last cluster view,
 * Event writes fail and are counted (no crash), and when the API server is back the
 * watches relist and the finding made during the outage is recorded. Uses a private control
 * plane, because it stops the API server.
 */
import { CoreV1Api, CustomObjectsApi, EventsV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent/agent.js";
import { EventRecorder } from "../../src/kube/events.js";
import { ClusterWatcher } from "../../src/kube/watcher.js";
import { procPathsFromEnv } from "../../src/procfs/paths.js";
import { hostTestsUnavailable, Sandbox } from "../host/sandbox.js";
import { ControlPlane } from "./controlplane.js";
import { clusterContext, skipBecause } from "./env.js";
import { applyCrds, repoCrds } from "./kube.js";
import { waitFor } from "./process.js";

const unavailable = hostTestsUnavailable("agent-outage.test.ts");
const NODE = `sl-outage-${process.pid}`;

describe.skipIf(unavailable !== null)("agent through an API server outage", () => {
  const box = new Sandbox();
  let cp: ControlPlane | undefined;
  let kc: KubeConfig;
  let watcher: ClusterWatcher;
  let recorder: EventRecorder;
  let agent: Agent;
  let podNs: string;
  let podUid: string;
  const ns = "outage";

  beforeAll(async () => {
    if (clusterContext().existing) return;
    cp = await ControlPlane.start();
    kc = cp.kubeConfig();
    await applyCrds(kc, await repoCrds(new URL("../..", import.meta.url).pathname));
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const created = await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "web-0", labels: { app: "web" } },
        spec: { nodeName: NODE, containers: [{ name: "app", image: "example.invalid/web" }] },
      },
    });
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: "socklens.io",
      version: "v1alpha1",
      plural: "networkbaselines",
      namespace: ns,
      body: {
        apiVersion: "socklens.io/v1alpha1",
        kind: "NetworkBaseline",
        metadata: { name: "web" },
        spec: { podSelector: { matchLabels: { app: "web" } }, listeners: [{ port: 8080 }] },
      },
    });
    podNs = box.netns("outage");
    const web = await box.workload(podNs, {
      title: "slwl-web",
      listen: [{ proto: "tcp", host: "0.0.0.0", port: 7001 }],
    });
    const uid = created.metadata?.uid as string;
    podUid = uid;
    box.podCgroup(podUid, web.pid, "b".repeat(64));
    watcher = new ClusterWatcher(kc, [], {
      nodeName: NODE,
      minBackoffMs: 200,
      maxBackoffMs: 1000,
    });
    recorder = new EventRecorder(kc, { controller: "socklens.io/agent", instance: NODE, seriesUpdateMs: 0 });
    agent = new Agent({
      nodeName: NODE,
      watcher,
      recorder,
      paths: procPathsFromEnv(process.env),
      log: () => {},
    });
    await waitFor("cluster view", async () => watcher.synced && watcher.baselines().length === 1, {
      timeoutMs: 20_000,
    });
  });

  afterAll(async () => {
    await watcher?.stop();
    await box.cleanup();
    await cp?.stop();
  });

  it("keeps scanning while the API server is down and catches up after", async (ctx) => {
    if (!cp) return skipBecause(ctx, "SOCKLENS_USE_EXISTING_CLUSTER=1: this test stops the API server");
    const events = () => kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    expect(await agent.cycle()).toMatchObject({ findings: 1, newFindings: 1 });
    expect((await events()).items.map((e) => e.reason)).toEqual(["UnexpectedListener"]);

    await cp.stopApiServer();
    // A second unexpected listener appears while nobody can be told.
    const intruder = await box.workload(podNs, {
      title: "slwl-intruder",
      listen: [{ proto: "tcp", host: "0.0.0.0", port: 4444 }],
    });
    box.podCgroup(podUid, intruder.pid, "b".repeat(64));
    const during = await agent.cycle();
    expect(during).toMatchObject({ findings: 2, newFindings: 1 });
    expect(recorder.stats.failed).toBeGreaterThanOrEqual(1);

    await cp.startApiServer();
    await waitFor(
      "the watches to relist",
      async () => watcher.status().every((s) => s.synced && !s.lastError),
      { timeoutMs: 30_000 },
    );
    await agent.cycle();
    const after = (await events()).items;
    expect(after).toHaveLength(2);
    expect(after.map((e) => e.note).join("\n")).toContain("0.0.0.0:4444/TCP (process slwl-intruder");
    const first = after.find((e) => e.note?.includes(":7001/"));
    expect(first?.series?.count).toBeGreaterThanOrEqual(2);
  });
});
