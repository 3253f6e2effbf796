/**
 * Burst collection on a trigger (issue 10, item 2), on the real API server. Three pods —
 * API objects on this test's node, each with a real process in its own network namespace and
 * kubepods cgroup (no kubelet: the processes are the test's own) — and the agent's real loop
 * (`run`, real clock, normal interval 60 s so every 1 s scan in between is a burst scan):
 *
 * - `socklens.io/burst: "4s"` on quiet-0 → a BurstStarted Event naming the annotation, burst
 *   scans of that pod alone, a BurstEnded Event, then no more burst scans;
 * - `ss -E` in tools-0 → a new NetworkDiscoveryTool (medium) finding → a burst whose Event
 *   names the finding;
 * - with a cap of 1 and two annotated pods, one burst runs and the other is refused (logged);
 * - the annotation on the Node → a burst of every pod, its Events on the Node.
 *
 * Needs root (namespaces, cgroups); skips saying so without it. How long things take is
 * logged, never asserted.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { CoreV1Api, EventsV1Api, type EventsV1Event, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent, type CycleReport } from "../../src/agent/agent.js";
import type { BurstOptions } from "../../src/agent/burst.js";
import { EventRecorder } from "../../src/kube/events.js";
import { ClusterWatcher } from "../../src/kube/watcher.js";
import { procPathsFromEnv } from "../../src/procfs/paths.js";
import { hostTestsUnavailable, REPO, Sandbox } from "../host/sandbox.js";
import { adminKubeConfig, createNamespace } from "./env.js";
import { applyCrds, PodNetwork, repoCrds, runningPod } from "./kube.js";
import { waitFor } from "./process.js";

const unavailable = hostTestsUnavailable("burst.test.ts");
const NODE = `sl-burst-${process.pid}`;
const AGENT = "socklens.io/agent";
const IPS = { "quiet-0": "10.239.0.11", "calm-0": "10.239.0.12", "tools-0": "10.239.0.13" } as const;
type PodName = keyof typeof IPS;

describe.skipIf(unavailable !== null)("burst collection from the agent", () => {
  const box = new Sandbox();
  const extra: ChildProcess[] = [];
  const pods = new Map<PodName, { uid: string; netns: string }>();
  let kc: KubeConfig;
  let ns: string;
  let core: CoreV1Api;

  beforeAll(async () => {
    kc = adminKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    await applyCrds(kc, await repoCrds(REPO));
    ns = await createNamespace(kc, "burst");
    await core.createNode({ body: { metadata: { name: NODE } } });
    const net = new PodNetwork(box);
    for (const [name, address] of Object.entries(IPS) as [PodName, string][]) {
      const pod = await runningPod(
        core,
        ns,
        {
          metadata: { name, labels: { app: name.replace(/-0$/, "") } },
          spec: { nodeName: NODE, containers: [{ name: "app", image: `example.invalid/${name}` }] },
        },
        address,
      );
      const netns = net.add(name.replace(/-0$/, ""), address);
      pods.set(name, { uid: pod.metadata?.uid as string, netns });
      const w = await box.workload(netns, {
        title: `slwl-${name.replace(/-0$/, "")}`,
        listen: [{ proto: "tcp", host: "0.0.0.0", port: 8080 }],
      });
      box.podCgroup(pod.metadata?.uid as string, w.pid);
    }
  });

  afterAll(async () => {
    try {
      for (const child of extra) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      await box.cleanup();
    } finally {
      if (ns) {
        await core.deleteCollectionNamespacedPod({ namespace: ns, gracePeriodSeconds: 0 });
        await core.deleteNamespace({ name: ns });
      }
      await core.deleteNode({ name: NODE }).catch(() => undefined);
    }
  });

  /** An agent running its real loop until stopped; logs and scan reports collected. */
  const startAgent = async (burst: Partial<BurstOptions>) => {
    const logs: { m: string; [k: string]: unknown }[] = [];
    const log = (m: string, f?: Record<string, unknown>) => logs.push({ m, ...f });
    const watcher = new ClusterWatcher(kc, [], {
      nodeName: NODE,
      onError: (k, e) => log("watch error", { k, e }),
    });
    const agent = new Agent({
      nodeName: NODE,
      watcher,
      recorder: new EventRecorder(kc, {
        controller: AGENT,
        instance: `socklens-agent-${NODE}`,
        seriesUpdateMs: 0,
      }),
      paths: procPathsFromEnv(process.env),
      log,
      burst: { findingDurationMs: 3_000, ...burst },
    });
    await waitFor(
      "the agent's view of the pods",
      async () => watcher.synced && Object.keys(IPS).every((n) => watcher.index().podByName(ns, n)),
      { timeoutMs: 20_000 },
    );
    const controller = new AbortController();
    const running = agent.run(60_000, controller.signal);
    const scans = () =>
      logs.filter((l) => l.m === "burst scan") as unknown as (CycleReport & { m: string })[];
    return {
      agent,
      logs,
      scans,
      stop: async () => {
        controller.abort();
        await running;
        await watcher.stop();
      },
    };
  };

  const events = async (namespace = ns): Promise<EventsV1Event[]> =>
    (await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace })).items.filter(
      (e) => e.reportingController === AGENT && e.regarding?.name !== undefined,
    );
  const burstEvents = async (reason: string, name: string, namespace = ns) =>
    (await events(namespace)).filter((e) => e.reason === reason && e.regarding?.name === name);
  /** Set (or with null remove) the pod's annotations to just socklens.io/burst (a JSON patch). */
  const annotate = (name: PodName, value: string | null) =>
    core.patchNamespacedPod({
      name,
      namespace: ns,
      body: [
        value === null
          ? { op: "remove", path: "/metadata/annotations" }
          : { op: "add", path: "/metadata/annotations", value: { "socklens.io/burst": value } },
      ],
    });

  it("a pod annotated socklens.io/burst=4s is scanned every second, alone, with an Event at start and end", async () => {
    const a = await startAgent({});
    try {
      const t0 = Date.now();
      await annotate("quiet-0", "4s");
      await waitFor(
        "BurstEnded on quiet-0",
        async () => (await burstEvents("BurstEnded", "quiet-0")).length > 0,
        {
          timeoutMs: 30_000,
          intervalMs: 250,
          describe: () => JSON.stringify(a.logs.slice(-5)),
        },
      );
      const start = (await burstEvents("BurstStarted", "quiet-0"))[0] as EventsV1Event;
      expect(start).toMatchObject({
        type: "Normal",
        regarding: { kind: "Pod", namespace: ns, name: "quiet-0", uid: pods.get("quiet-0")?.uid },
      });
      expect(start.note).toBe(
        `socklens agent on node ${NODE} scans pod ${ns}/quiet-0 every 1s for 4s: annotation socklens.io/burst="4s"`,
      );
      const end = (await burstEvents("BurstEnded", "quiet-0"))[0] as EventsV1Event;
      expect(end.note).toMatch(
        new RegExp(
          `^socklens agent on node ${NODE} ended the burst on pod ${ns}/quiet-0 after [45]s \\(its time is up\\): (\\d+) burst scans, 0 findings; back to the normal interval$`,
        ),
      );
      const scans = a.scans();
      // Every burst scan read the one pod's namespace (sockets: its listener), not the node.
      expect(scans.length).toBeGreaterThanOrEqual(2);
      for (const s of scans) expect(s).toMatchObject({ burstPods: 1, pods: 1 });
      console.log(`burst of 4s: ${scans.length} burst scans, ended ${Date.now() - t0} ms after annotating`);
      // Back to the normal interval (60 s here): no burst scan after the end.
      const after = scans.length;
      await new Promise((r) => setTimeout(r, 2_500));
      expect(a.scans().length).toBe(after);
      expect(a.agent.bursts()).toEqual([]);
      // One Event each, even though the annotation is still there: one value is one burst.
      expect(await burstEvents("BurstStarted", "quiet-0")).toHaveLength(1);
    } finally {
      await a.stop();
      await annotate("quiet-0", null);
    }
  });

  it("a new medium finding (ss run in tools-0) starts a burst whose Event names the finding", async () => {
    const a = await startAgent({});
    try {
      const p = pods.get("tools-0") as { uid: string; netns: string };
      const child = spawn("ip", ["netns", "exec", p.netns, "ss", "-E"], { stdio: "ignore" });
      extra.push(child);
      const pid = child.pid as number;
      await waitFor("ss running", async () => readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "ss", {
        timeoutMs: 10_000,
        intervalMs: 50,
      });
      box.podCgroup(p.uid, pid);
      // The loop's first full scan is at start; wait for the next full one or a burst.
      await waitFor(
        "BurstStarted on tools-0",
        async () => (await burstEvents("BurstStarted", "tools-0")).length > 0,
        {
          timeoutMs: 90_000,
          intervalMs: 500,
          describe: () => JSON.stringify(a.logs.slice(-5)),
        },
      );
      const start = (await burstEvents("BurstStarted", "tools-0"))[0] as EventsV1Event;
      expect(start.note).toMatch(
        new RegExp(
          `^socklens agent on node ${NODE} scans pod ${ns}/tools-0 every 1s for 3s: new finding NetworkDiscoveryTool \\(medium\\): pod ${ns}/tools-0 ran ss \\(pid ${pid}, `,
        ),
      );
      await waitFor(
        "BurstEnded on tools-0",
        async () => (await burstEvents("BurstEnded", "tools-0")).length > 0,
        {
          timeoutMs: 30_000,
          intervalMs: 250,
        },
      );
      // The finding stays (ss still runs) but is not new: no second burst.
      expect(await burstEvents("BurstStarted", "tools-0")).toHaveLength(1);
      child.kill("SIGTERM");
    } finally {
      await a.stop();
    }
  });

  it("caps concurrent bursts per node: a second annotated pod is refused while one runs", async () => {
    const a = await startAgent({ maxConcurrent: 1 });
    try {
      const before = (await events()).filter((e) => e.reason === "BurstStarted").length;
      await annotate("quiet-0", "5s");
      await annotate("calm-0", "5s");
      await waitFor(
        "one burst started and one refused",
        async () =>
          a.logs.some((l) => l.m === "burst refused") &&
          (await events()).filter((e) => e.reason === "BurstStarted").length > before,
        { timeoutMs: 30_000, intervalMs: 250, describe: () => JSON.stringify(a.logs.slice(-5)) },
      );
      expect(a.agent.bursts()).toHaveLength(1);
      const refused = a.logs.find((l) => l.m === "burst refused");
      expect(refused?.why).toBe("1 bursts already run on this node (the cap is 1)");
      const started = a.agent.bursts()[0]?.target;
      expect(refused?.target).not.toBe(started?.kind === "Pod" ? `pod ${ns}/${started.pod.name}` : "");
      expect((await events()).filter((e) => e.reason === "BurstStarted").length).toBe(before + 1);
    } finally {
      await a.stop();
      await annotate("quiet-0", null);
      await annotate("calm-0", null);
    }
  });

  it("the annotation on the Node bursts every pod on it, with its Events on the Node", async () => {
    const a = await startAgent({});
    try {
      await core.patchNode({
        name: NODE,
        body: [{ op: "add", path: "/metadata/annotations", value: { "socklens.io/burst": "3s" } }],
      });
      await waitFor(
        "BurstEnded on the node",
        async () => (await burstEvents("BurstEnded", NODE, "default")).length > 0,
        {
          timeoutMs: 30_000,
          intervalMs: 250,
          describe: () => JSON.stringify(a.logs.slice(-5)),
        },
      );
      const start = (await burstEvents("BurstStarted", NODE, "default"))[0] as EventsV1Event;
      expect(start).toMatchObject({ type: "Normal", regarding: { kind: "Node", name: NODE } });
      expect(start.note).toBe(
        `socklens agent on node ${NODE} scans every pod on node ${NODE} every 1s for 3s: annotation socklens.io/burst="3s"`,
      );
      // A node-wide burst scan reads every pod's namespace.
      expect(a.scans().length).toBeGreaterThanOrEqual(1);
      for (const s of a.scans()) expect(s.pods).toBe(3);
    } finally {
      await a.stop();
    }
  });
});
