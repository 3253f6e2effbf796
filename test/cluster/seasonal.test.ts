/**
 * The seasonal model in the agent (issue 10, item 1), on the real API server:
 *
 * - a model learned over three simulated weeks (web-0's baseline holds about 2 established
 *   connections at every hour) is written by the agent's store to its per-node ConfigMap and
 *   read back by a fresh agent, as after a restart or a rollout;
 * - that agent then sees web-0 — a real process in its own network namespace and kubepods
 *   cgroup — holding 30 established connections, and raises one SeasonalAnomaly Warning
 *   Event on the pod naming the baseline, the process, the peer, the value and the usual range;
 * - on stop it writes the model back, and what it wrote loads and judges alike.
 *
 * The weeks are simulated (the model's clock is passed in); the scan itself is real and runs
 * now, so the history ends at the current hour. Needs root; skips saying so without it.
 */
import { gunzipSync } from "node:zlib";
import { CoreV1Api, EventsV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent/agent.js";
import { ConfigMapSeasonalStore, seasonalConfigMapName } from "../../src/agent/seasonal-store.js";
import { SeasonalModels } from "../../src/core/memory/seasonal-models.js";
import { EventRecorder } from "../../src/kube/events.js";
import { ClusterWatcher } from "../../src/kube/watcher.js";
import { procPathsFromEnv } from "../../src/procfs/paths.js";
import { hostTestsUnavailable, REPO, Sandbox, type Workload } from "../host/sandbox.js";
import { adminKubeConfig, createNamespace } from "./env.js";
import { applyCrds, createBaseline, repoCrds, runningPod } from "./kube.js";
import { waitFor } from "./process.js";

const unavailable = hostTestsUnavailable("seasonal.test.ts");
const NODE = `sl-seasonal-${process.pid}`;
const AGENT = "socklens.io/agent";
const HOUR = 3_600_000;

describe.skipIf(unavailable !== null)("seasonal judgement in the agent", () => {
  const box = new Sandbox();
  let kc: KubeConfig;
  let ns: string;
  let core: CoreV1Api;
  let uid: string;
  let client: Workload;
  let server: Workload;

  beforeAll(async () => {
    kc = adminKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    await applyCrds(kc, await repoCrds(REPO));
    ns = await createNamespace(kc, "seasonal");
    // Learn mode: the baseline selects web-0 (the model is the baseline's) and raises nothing itself.
    await createBaseline(kc, ns, "web", { podSelector: { matchLabels: { app: "web" } }, mode: "Learn" });
    const pod = await runningPod(
      core,
      ns,
      {
        metadata: { name: "web-0", labels: { app: "web" } },
        spec: { nodeName: NODE, containers: [{ name: "app", image: "example.invalid/web" }] },
      },
      "10.240.0.11",
    );
    uid = pod.metadata?.uid as string;
    const netns = box.netns("web");
    server = await box.workload(netns, {
      title: "slwl-web",
      listen: [{ proto: "tcp", host: "127.0.0.1", port: 8080 }],
    });
    client = await box.workload(netns, {
      title: "slwl-pool",
      connect: [{ proto: "tcp", host: "127.0.0.1", port: 8080, count: 15 }],
    });
    box.podCgroup(uid, server.pid);
    box.podCgroup(uid, client.pid);
  });

  afterAll(async () => {
    try {
      await box.cleanup();
    } finally {
      if (ns) {
        await core.deleteCollectionNamespacedPod({ namespace: ns, gracePeriodSeconds: 0 });
        await core.deleteNamespace({ name: ns });
      }
    }
  });

  it("keeps the model in the node's ConfigMap across a restart and flags a count unusual for this hour", async () => {
    const baseline = `${ns}/web`;
    // Three weeks of history, a sample every 5 minutes, ending where the current hour begins.
    const learned = new SeasonalModels();
    const end = Math.floor(Date.now() / HOUR) * HOUR;
    let i = 0;
    for (let t = end - 21 * 24 * HOUR; t < end; t += 5 * 60_000, i++)
      learned.learn(baseline, { ESTABLISHED: 1 + (i % 3) }, t);
    learned.learn(baseline, { ESTABLISHED: 2 }, end); // closes the last hour
    const store = new ConfigMapSeasonalStore(kc, ns, NODE);
    expect(await store.save(learned)).toBe(true);
    const cm = await core.readNamespacedConfigMap({ name: seasonalConfigMapName(NODE), namespace: ns });
    const stored = cm.binaryData?.["models.json.gz"] as string;
    console.log(
      `a 3-week model of one series: ${Buffer.from(stored, "base64").length} bytes gzipped, ${gunzipSync(Buffer.from(stored, "base64")).length} as JSON`,
    );

    // A fresh agent (a restart) with the same store.
    const logs: { m: string; [k: string]: unknown }[] = [];
    const watcher = new ClusterWatcher(kc, [], { nodeName: NODE });
    const agent = new Agent({
      nodeName: NODE,
      watcher,
      recorder: new EventRecorder(kc, { controller: AGENT, instance: `socklens-agent-${NODE}` }),
      paths: procPathsFromEnv(process.env),
      log: (m, f) => logs.push({ m, ...f }),
      seasonal: { store: new ConfigMapSeasonalStore(kc, ns, NODE) },
      detectDiscoveryTools: false,
    });
    try {
      await waitFor(
        "the agent's view of web-0 and its baseline",
        async () =>
          watcher.synced &&
          watcher.index().podByName(ns, "web-0") !== undefined &&
          watcher
            .baselines()
            .some((b) => (b as { metadata?: { namespace?: string } }).metadata?.namespace === ns),
        { timeoutMs: 20_000 },
      );
      const r = await agent.cycle();
      expect(logs.find((l) => l.m === "seasonal model loaded")).toMatchObject({ workloads: 1 });
      expect(r.findings, JSON.stringify(logs.slice(-3))).toBe(1);
      const events = (
        await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns })
      ).items.filter((e) => e.reportingController === AGENT);
      // One Event: a scan driven by hand (not the loop) starts no burst (burst.test.ts has those).
      expect(events.map((x) => x.reason)).toEqual(["SeasonalAnomaly"]);
      const e = events[0];
      expect(e).toMatchObject({
        type: "Warning",
        reason: "SeasonalAnomaly",
        regarding: { kind: "Pod", namespace: ns, name: "web-0", uid },
      });
      console.log(`SeasonalAnomaly: ${e?.note}`);
      // Both processes hold 15 of the 30 connections: both are named.
      expect(e?.note).toContain(`process slwl-web, pid ${server.pid}`);
      expect(e?.note).toContain(`process slwl-pool, pid ${client.pid}`);
      expect(e?.note).toMatch(
        new RegExp(
          `^pod ${ns}/web-0 \\(baseline ${ns}/web\\) \\((process slwl-(web|pool), pid \\d+(; )?){2}\\): 30 established connections, most to 127\\.0\\.0\\.1:8080 \\(15\\) at \\d\\d:\\d\\d on a \\w+day; usually 1–3 at this hour on week(days|ends) \\(last 3 weeks, \\d+ days\\) — 10× the top of that range$`,
        ),
      );
    } finally {
      await agent.saveSeasonal();
      await watcher.stop();
    }
    // What the agent wrote back loads and judges as the model it loaded did.
    const again = new SeasonalModels();
    const raw = await new ConfigMapSeasonalStore(kc, ns, NODE).load();
    again.load(raw, Date.now());
    expect(again.judge(baseline, { ESTABLISHED: 30 }, Date.now())[0]).toMatchObject({ anomalous: true });
    expect(again.judge(baseline, { ESTABLISHED: 2 }, Date.now())[0]).toMatchObject({ anomalous: false });
  });
});
