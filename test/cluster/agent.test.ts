/**
 * The node agent against a real API server and a real OpenTelemetry Collector. The "pod" is
 * an API object whose UID is carried by the cgroup of the test's own process in a test
 * network namespace; a NetworkBaseline (Alert) selects it. One scan must produce a Warning
 * Event on the pod explaining the violation, the next scan must add to that Event's series
 * rather than create another, and the collector must receive the violation metric and log.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent/agent.js";
import { EventRecorder } from "../../src/kube/events.js";
import { ClusterWatcher } from "../../src/kube/watcher.js";
import { parseCidr } from "../../src/net/cidr.js";
import { procPathsFromEnv } from "../../src/procfs/paths.js";
import { Telemetry } from "../../src/telemetry/otel.js";
import { otlpConfig } from "../../src/telemetry/otlp-config.js";
import { hostTestsUnavailable, runCli, Sandbox } from "../host/sandbox.js";
import { Collector } from "./collector.js";
import { adminKubeConfig, clusterContext, createNamespace } from "./env.js";
import { applyCrds, ownBaselines, repoCrds, runningPod } from "./kube.js";
import { waitFor } from "./process.js";

const unavailable = hostTestsUnavailable("agent.test.ts");
const NODE = `sl-node-${process.pid}`;

describe.skipIf(unavailable !== null)("socklens agent", () => {
  const box = new Sandbox();
  let kc: KubeConfig;
  let ns: string;
  let pod: V1Pod;
  let collector: Collector;
  let watcher: ClusterWatcher;
  let telemetry: Telemetry;
  let recorder: EventRecorder;
  let agent: Agent;
  const logs: string[] = [];

  beforeAll(async () => {
    kc = adminKubeConfig();
    await applyCrds(kc, await repoCrds(new URL("../..", import.meta.url).pathname));
    ns = await createNamespace(kc, "agent");
    const core = kc.makeApiClient(CoreV1Api);
    pod = await runningPod(
      core,
      ns,
      {
        metadata: { name: "web-0", labels: { app: "web" } },
        spec: { nodeName: NODE, containers: [{ name: "app", image: "example.invalid/web" }] },
      },
      "10.234.0.1",
    );
    // The peer is a pod on another node: the agent watches only its own node's pods and
    // must look this one up by IP.
    await runningPod(
      core,
      ns,
      {
        metadata: { name: "peer-0", labels: { app: "peer" } },
        spec: { nodeName: "elsewhere", containers: [{ name: "app", image: "example.invalid/peer" }] },
      },
      "10.234.0.2",
    );
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: "socklens.io",
      version: "v1alpha1",
      plural: "networkbaselines",
      namespace: ns,
      body: {
        apiVersion: "socklens.io/v1alpha1",
        kind: "NetworkBaseline",
        metadata: { name: "web" },
        spec: {
          podSelector: { matchLabels: { app: "web" } },
          mode: "Alert",
          listeners: [{ port: 8080 }],
          egress: [],
        },
      },
    });

    const webNs = box.netns("web");
    const peerNs = box.netns("peer");
    box.veth(webNs, peerNs, ["10.234.0.1", "10.234.0.2"], ["fd00:5c:a::1", "fd00:5c:a::2"]);
    await box.workload(peerNs, {
      title: "slwl-peer",
      listen: [{ proto: "tcp", host: "0.0.0.0", port: 4444 }],
    });
    const web = await box.workload(webNs, {
      title: "slwl-web",
      listen: [{ proto: "tcp", host: "0.0.0.0", port: 8080 }],
      connect: [{ proto: "tcp", host: "10.234.0.2", port: 4444 }],
    });
    const uid = pod.metadata?.uid as string;
    box.podCgroup(uid, web.pid, "a".repeat(64));

    collector = await Collector.start();
    const log = (m: string, f?: Record<string, unknown>) => logs.push(JSON.stringify({ m, ...f }));
    watcher = new ClusterWatcher(kc, [], {
      nodeName: NODE,
      onError: (k, e) => log("watch error", { k, e }),
    });
    telemetry = new Telemetry({
      service: "socklens-agent",
      version: "test",
      otlp: otlpConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.httpEndpoint }),
      kubernetes: { nodeName: NODE },
      exportIntervalMs: 60_000,
    });
    recorder = new EventRecorder(kc, {
      controller: "socklens.io/agent",
      instance: `socklens-agent-${NODE}`,
      seriesUpdateMs: 0,
    });
    agent = new Agent({
      nodeName: NODE,
      watcher,
      recorder,
      telemetry,
      paths: procPathsFromEnv(process.env),
      log,
    });
    await waitFor("the agent's cluster view", async () => watcher.synced && ownBaselines(watcher, ns) === 1, {
      timeoutMs: 20_000,
    });
  });

  afterAll(async () => {
    await watcher?.stop();
    await telemetry?.shutdown();
    await collector?.stop();
    await box.cleanup();
  });

  it("turns a violation into one Warning Event on the pod, and repeats into its series", async () => {
    // Node-scoped watch: the peer pod on another node is unknown until a socket needs it.
    expect(watcher.index().podByName(ns, "peer-0")).toBeUndefined();
    expect(watcher.index().podByName(ns, "web-0")).toBeDefined();
    const first = await agent.cycle();
    expect(watcher.index().podByName(ns, "peer-0")?.nodeName).toBe("elsewhere");
    expect(first, logs.join("\n")).toMatchObject({ findings: 1, newFindings: 1 });
    const events = kc.makeApiClient(EventsV1Api);
    const list1 = await events.listNamespacedEvent({ namespace: ns });
    expect(list1.items, JSON.stringify(recorder.stats)).toHaveLength(1);
    const e = list1.items[0];
    expect(e).toMatchObject({
      type: "Warning",
      reason: "UnexpectedEgress",
      reportingController: "socklens.io/agent",
      regarding: { kind: "Pod", name: "web-0", namespace: ns, uid: pod.metadata?.uid },
    });
    expect(e?.note).toMatch(
      new RegExp(
        `^pod ${ns}/web-0 connected to 10\\.234\\.0\\.2:4444/TCP \\(pod ${ns}/peer-0\\) \\(process slwl-web, pid \\d+\\), ESTABLISHED; baseline ${ns}/web allows egress nothing only$`,
      ),
    );

    const second = await agent.cycle();
    expect(second).toMatchObject({ findings: 1, newFindings: 0 });
    const list2 = await events.listNamespacedEvent({ namespace: ns });
    expect(list2.items).toHaveLength(1);
    expect(list2.items[0]?.series?.count).toBe(2);
  });

  it("exports the violation as an OTel metric and log with semantic-convention attributes", async () => {
    await telemetry.flush();
    const attributes = {
      "k8s.namespace.name": ns,
      "k8s.pod.name": "web-0",
      "socklens.rule": "UnexpectedEgress",
      "socklens.baseline": `${ns}/web`,
      "socklens.severity": "medium",
    };
    const started = await collector.waitFor("socklens.violation.started", (r) =>
      r.metrics.find((m) => m.name === "socklens.violation.started"),
    );
    expect(started.resource).toMatchObject({ "service.name": "socklens-agent", "k8s.node.name": NODE });
    // Two scans saw the finding; it started once, so it is counted once.
    expect(started.dataPoints).toEqual([{ attributes, value: 1 }]);
    const active = await collector.waitFor("socklens.violation.active", (r) =>
      r.metrics.find((m) => m.name === "socklens.violation.active"),
    );
    expect(active.type).toBe("gauge");
    expect(active.dataPoints).toEqual([{ attributes, value: 1 }]);
    const sockets = await collector.waitFor("socklens.sockets", (r) =>
      r.metrics.find((m) => m.name === "socklens.sockets"),
    );
    expect(sockets.dataPoints).toContainEqual({
      attributes: {
        "k8s.namespace.name": ns,
        "k8s.pod.name": "web-0",
        "network.transport": "tcp",
        "network.connection.state": "listen",
      },
      value: 1,
    });
    const logsReceived = await collector.waitFor("violation log", (r) => {
      const l = r.logs.filter((x) => x.eventName === "socklens.violation");
      return l.length ? l : undefined;
    });
    // Logged once, when new: the second scan only counted it.
    expect(logsReceived).toHaveLength(1);
    expect(logsReceived[0]).toMatchObject({
      severityText: "MEDIUM",
      attributes: {
        "k8s.pod.name": "web-0",
        "socklens.connection.direction": "egress",
        "network.peer.address": "10.234.0.2",
        "network.peer.port": 4444,
        "server.port": 4444,
        "network.transport": "tcp",
        "network.connection.state": "established",
        "socklens.process.comm": "slwl-web",
        "socklens.mitre.technique.id": "T1571",
      },
    });
    expect(String(logsReceived[0]?.body)).toContain("connected to 10.234.0.2:4444/TCP");
  });

  it("runs as `socklens agent --once` from the command line", () => {
    const r = runCli(["agent", "--once", "--kubeconfig", clusterContext().kubeconfig, "--node", NODE]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      findings: number;
      baselines: number;
      events: { created: number };
    };
    expect(report).toMatchObject({ findings: 1 });
    // A fresh process has no series memory: it creates its own Event (its recorder's first).
    expect(report.events.created).toBe(1);
    expect(r.stderr).toContain('"msg":"agent started"');
  });

  it("`agent --once --dry-run` prints the Event and the NetworkObservation it would write, and writes nothing", async () => {
    const events = kc.makeApiClient(EventsV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const observations = () =>
      custom.listNamespacedCustomObject({
        group: "socklens.io",
        version: "v1alpha1",
        plural: "networkobservations",
        namespace: ns,
      }) as Promise<{ items: { metadata: { name: string; resourceVersion: string } }[] }>;
    const state = async () => ({
      events: (await events.listNamespacedEvent({ namespace: ns })).items
        .map((e) => `${e.metadata?.name}@${e.metadata?.resourceVersion}`)
        .sort(),
      observations: (await observations()).items
        .map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`)
        .sort(),
    });
    const before = await state();
    const r = runCli([
      "agent",
      "--once",
      "--dry-run",
      "--kubeconfig",
      clusterContext().kubeconfig,
      "--node",
      NODE,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map(
        (l) => JSON.parse(l) as { dryRun: unknown; object?: Record<string, never> } & Record<string, unknown>,
      );
    const created = lines.filter((l) => l.dryRun === "create");
    expect(created).toHaveLength(1);
    expect(created[0]?.object).toMatchObject({
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      type: "Warning",
      reason: "UnexpectedEgress",
      regarding: { kind: "Pod", name: "web-0", namespace: ns },
    });
    const applied = lines.filter((l) => l.dryRun === "apply");
    expect(applied).toHaveLength(1);
    const baseline = (await custom.getNamespacedCustomObject({
      group: "socklens.io",
      version: "v1alpha1",
      plural: "networkbaselines",
      namespace: ns,
      name: "web",
    })) as { metadata: { uid: string } };
    expect(applied[0]?.object).toMatchObject({
      kind: "NetworkObservation",
      metadata: {
        name: `web.${NODE}`,
        namespace: ns,
        ownerReferences: [
          { kind: "NetworkBaseline", name: "web", uid: baseline.metadata.uid, controller: true },
        ],
      },
      spec: { baseline: "web", nodeName: NODE, pods: ["web-0"], violations: { UnexpectedEgress: 1 } },
    });
    // The report comes last and says it was a dry run.
    expect(lines.at(-1)).toMatchObject({ findings: 1, dryRun: true, events: { created: 1, failed: 0 } });
    expect(r.stderr).toContain("nothing is written to the cluster");
    // Nothing was created or changed on the server.
    expect(await state()).toEqual(before);
  });

  it("rate-limits Events per object instead of flooding", async () => {
    const limited = new EventRecorder(kc, {
      controller: "socklens.io/agent",
      instance: "rate-test",
      burst: 2,
      refillMs: 3_600_000,
    });
    const regarding = { apiVersion: "v1", kind: "Pod", namespace: ns, name: "noisy-0" };
    for (let i = 0; i < 4; i++) {
      await limited.record({
        regarding,
        type: "Warning",
        reason: "UnexpectedEgress",
        note: `finding ${i}`,
        key: `k${i}`,
      });
    }
    expect(limited.stats).toMatchObject({ created: 2, dropped: 2, failed: 0 });
    const list = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    expect(list.items.filter((e) => e.regarding?.name === "noisy-0")).toHaveLength(2);
  });

  it("masks addresses marked sensitive in the Events it writes", async () => {
    const masked = new EventRecorder(kc, {
      controller: "socklens.io/agent",
      instance: "masked-agent",
      seriesUpdateMs: 0,
    });
    const a = new Agent({
      nodeName: NODE,
      watcher,
      recorder: masked,
      masks: [parseCidr("10.234.0.0/16")],
      paths: procPathsFromEnv(process.env),
      log: () => {},
    });
    expect((await a.cycle()).findings).toBe(1);
    const list = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    const mine = list.items.filter((e) => e.reportingInstance === "masked-agent");
    expect(mine).toHaveLength(1);
    expect(mine[0]?.note).toContain("connected to x.x.x.x:4444/TCP");
    expect(mine[0]?.note).not.toContain("10.234.");
  });
});
