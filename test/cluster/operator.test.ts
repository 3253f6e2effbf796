/**
 * The whole loop on a real API server: the agent observes a violating pod and writes its
 * NetworkObservation; the operator turns observations, pods and the spec into status
 * (Ready, Violating, matchedPods, violations) and marks a spec the CRD schema let through
 * but that is semantically invalid Ready=False with the field. Then leader election: two
 * candidates on one Lease, one leads, the other takes over when the first steps down; and
 * the real `socklens operator` process writes status and releases its Lease on SIGTERM.
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent/agent.js";
import { EventRecorder } from "../../src/kube/events.js";
import { LeaderElector } from "../../src/kube/leader.js";
import { ObservationWriter } from "../../src/kube/observations.js";
import { ClusterWatcher } from "../../src/kube/watcher.js";
import { BaselineController } from "../../src/operator/controller.js";
import { procPathsFromEnv } from "../../src/procfs/paths.js";
import { hostTestsUnavailable, REPO, runCli, Sandbox } from "../host/sandbox.js";
import { adminKubeConfig, clusterContext, createNamespace } from "./env.js";
import { applyCrds, ownBaselines, repoCrds, runningPod } from "./kube.js";
import { waitFor } from "./process.js";

const unavailable = hostTestsUnavailable("operator.test.ts");
const NODE = `sl-op-${process.pid}`;
const nbl = { group: "socklens.io", version: "v1alpha1", plural: "networkbaselines" } as const;

interface Status {
  matchedPods?: number;
  violations?: { total: number; byRule?: Record<string, number> };
  conditions?: { type: string; status: string; reason: string; message: string }[];
}

describe.skipIf(unavailable !== null)("operator and agent, end to end", () => {
  const box = new Sandbox();
  let kc: KubeConfig;
  let ns: string;
  let custom: CustomObjectsApi;
  let watcher: ClusterWatcher;
  let controller: BaselineController;
  const stop = new AbortController();
  const controllerLog: string[] = [];

  const status = async (name: string) =>
    ((await custom.getNamespacedCustomObject({ ...nbl, namespace: ns, name })) as { status?: Status }).status;
  const cond = (s: Status | undefined, type: string) => s?.conditions?.find((c) => c.type === type);

  beforeAll(async () => {
    kc = adminKubeConfig();
    custom = kc.makeApiClient(CustomObjectsApi);
    await applyCrds(kc, await repoCrds(REPO));
    ns = await createNamespace(kc, "operator");
    const core = kc.makeApiClient(CoreV1Api);
    const mk = (name: string, labels: Record<string, string>) =>
      runningPod(
        core,
        ns,
        {
          metadata: { name, labels },
          spec: { nodeName: NODE, containers: [{ name: "c", image: "example.invalid/x" }] },
        },
        "10.235.0.1",
      );
    const web: V1Pod = await mk("web-0", { app: "web" });
    await mk("web-1", { app: "web" }); // selected, but no process: counted, not violating
    await mk("db-0", { app: "db" });
    const body = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: "socklens.io/v1alpha1",
      kind: "NetworkBaseline",
      metadata: { name },
      spec: { podSelector: { matchLabels: { app: "web" } }, ...spec },
    });
    await custom.createNamespacedCustomObject({
      ...nbl,
      namespace: ns,
      body: body("web", { listeners: [] }),
    });
    // Passes the CRD schema (a CIDR pattern), fails the semantic check.
    await custom.createNamespacedCustomObject({
      ...nbl,
      namespace: ns,
      body: body("broken", {
        egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["192.168.0.0/16"] } }] }],
      }),
    });

    const podNs = box.netns("op");
    box.veth(podNs, box.netns("op-peer"), ["10.235.0.1", "10.235.0.2"], ["fd00:5c:b::1", "fd00:5c:b::2"]);
    const proc = await box.workload(podNs, {
      title: "slwl-op",
      listen: [{ proto: "tcp", host: "0.0.0.0", port: 9999 }],
    });
    const uid = web.metadata?.uid as string;
    box.podCgroup(uid, proc.pid, "c".repeat(64));

    watcher = new ClusterWatcher(kc, [], { nodeName: NODE });
    controller = new BaselineController(kc, {
      recorder: new EventRecorder(kc, { controller: "socklens.io/operator", instance: "test" }),
      autoPromote: true,
      minBackoffMs: 200,
      maxBackoffMs: 1000,
      log: (m, f) => controllerLog.push(JSON.stringify({ m, ...f })),
    });
    void controller.run(stop.signal);
  });

  afterAll(async () => {
    stop.abort();
    await controller?.stop();
    await watcher?.stop();
    await box.cleanup();
  });

  it("marks a semantically invalid baseline Ready=False naming the field", async () => {
    await waitFor("status of broken", async () => cond(await status("broken"), "Ready")?.status === "False", {
      timeoutMs: 20_000,
    });
    const ready = cond(await status("broken"), "Ready");
    expect(ready).toMatchObject({ reason: "InvalidSpec" });
    expect(ready?.message).toContain(
      "spec.egress[0].to[0].ipBlock.except[0]: 192.168.0.0/16 is not inside 10.0.0.0/8",
    );
    const events = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    const warning = events.items.find(
      (e) => e.regarding?.kind === "NetworkBaseline" && e.regarding.name === "broken",
    );
    expect(warning).toMatchObject({
      type: "Warning",
      reason: "InvalidSpec",
      reportingController: "socklens.io/operator",
    });
    expect(warning?.note).toContain(
      `NetworkBaseline ${ns}/broken: spec is invalid and is not evaluated: spec.egress[0].to[0].ipBlock.except[0]`,
    );
  });

  it("aggregates the agent's observation into status: violations, Violating, matched pods", async () => {
    await waitFor("status of web", async () => (await status("web"))?.matchedPods === 2, {
      timeoutMs: 20_000,
    });
    expect(cond(await status("web"), "Violating")).toMatchObject({
      status: "Unknown",
      reason: "NoObservations",
    });

    await waitFor("agent's cluster view", async () => watcher.synced && ownBaselines(watcher, ns) === 2, {
      timeoutMs: 20_000,
    });
    const writer = new ObservationWriter(kc);
    const agent = new Agent({
      nodeName: NODE,
      watcher,
      observations: writer,
      observationIntervalMs: 0,
      paths: procPathsFromEnv(process.env),
      log: () => {},
    });
    const r = await agent.cycle();
    expect(r.findings).toBe(1);
    expect(writer.stats, JSON.stringify(writer.stats)).toMatchObject({ written: 1, failed: 0 });
    const obs = (await custom.listNamespacedCustomObject({
      group: "socklens.io",
      version: "v1alpha1",
      plural: "networkobservations",
      namespace: ns,
    })) as { items: { metadata: { name: string }; spec: Record<string, unknown> }[] };
    expect(obs.items).toHaveLength(1);
    expect(obs.items[0]?.metadata.name).toBe(`web.${NODE}`);
    expect(obs.items[0]?.spec).toMatchObject({
      baseline: "web",
      nodeName: NODE,
      pods: ["web-0", "web-1"],
      violations: { UnexpectedListener: 1 },
      listeners: [{ port: 9999, protocol: "TCP", address: "0.0.0.0", process: "slwl-op" }],
    });

    await waitFor("Violating=True", async () => cond(await status("web"), "Violating")?.status === "True", {
      timeoutMs: 20_000,
    });
    const s = await status("web");
    expect(s).toMatchObject({ matchedPods: 2, violations: { total: 1, byRule: { UnexpectedListener: 1 } } });
    expect(cond(s, "Ready")).toMatchObject({ status: "True", reason: "Compiled" });
    expect(cond(s, "Violating")?.message).toBe(`1 active violation(s) on node(s) ${NODE}`);
  });

  it("records what Learn mode sees into status.learned, and exports it as a baseline to review", async () => {
    await custom.createNamespacedCustomObject({
      ...nbl,
      namespace: ns,
      body: {
        apiVersion: "socklens.io/v1alpha1",
        kind: "NetworkBaseline",
        metadata: { name: "learner" },
        spec: {
          podSelector: { matchLabels: { app: "web" } },
          mode: "Learn",
          learning: { duration: "24h" },
          thresholds: { established: 100 },
        },
      },
    });
    await waitFor("agent sees the learner", async () => ownBaselines(watcher, ns) === 3, {
      timeoutMs: 20_000,
    });
    const agent = new Agent({
      nodeName: NODE,
      watcher,
      observations: new ObservationWriter(kc),
      observationIntervalMs: 0,
      paths: procPathsFromEnv(process.env),
      log: () => {},
    });
    await agent.cycle();
    await waitFor(
      "status.learned",
      async () =>
        ((await status("learner")) as { learned?: { listeners?: unknown[] } } | undefined)?.learned?.listeners
          ?.length === 1,
      {
        timeoutMs: 20_000,
        describe: () => `${JSON.stringify(controller.stats)}\n${controllerLog.slice(-3).join("\n")}`,
      },
    );
    const s = (await status("learner")) as Status & { learned: { listeners: unknown[] } };
    expect(s.learned.listeners).toEqual([
      { port: 9999, protocol: "TCP", address: "0.0.0.0", process: "slwl-op" },
    ]);
    expect(cond(s, "Learning")).toMatchObject({ status: "True", reason: "LearningMode" });

    const out = join(tmpdir(), `${box.id}-exported.yaml`);
    const r = runCli([
      "baseline",
      "export",
      `${ns}/learner`,
      "--kubeconfig",
      clusterContext().kubeconfig,
      "-o",
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    rmSync(out);
    expect(text).toMatch(/^# Exported by socklens baseline export from /);
    expect(text).toContain("mode: Alert");
    expect(text).toContain("port: 9999");
    expect(text).toContain("established: 100");
    const { validateBaselines } = await import("../../src/api/validate.js");
    expect(validateBaselines(text, "exported.yaml").problems).toEqual([]);
  });

  it("auto-promotes a Learn baseline when learning.duration is over, if allowed", async () => {
    await custom.createNamespacedCustomObject({
      ...nbl,
      namespace: ns,
      body: {
        apiVersion: "socklens.io/v1alpha1",
        kind: "NetworkBaseline",
        metadata: { name: "promo" },
        spec: {
          podSelector: { matchLabels: { app: "web" } },
          mode: "Learn",
          learning: { duration: "3s", autoPromote: true },
        },
      },
    });
    await waitFor(
      "agent sees promo",
      async () =>
        watcher.baselines().some((b) => (b as { metadata?: { name?: string } }).metadata?.name === "promo"),
      { timeoutMs: 20_000 },
    );
    await new Agent({
      nodeName: NODE,
      watcher,
      observations: new ObservationWriter(kc),
      observationIntervalMs: 0,
      paths: procPathsFromEnv(process.env),
      log: () => {},
    }).cycle();
    // Nothing else changes: the controller's RequeueAfter must wake it when the 3 s are over.
    await waitFor(
      "promotion",
      async () =>
        (
          (await custom.getNamespacedCustomObject({ ...nbl, namespace: ns, name: "promo" })) as {
            spec: { mode: string };
          }
        ).spec.mode === "Alert",
      { timeoutMs: 30_000 },
    );
    const promoted = (await custom.getNamespacedCustomObject({ ...nbl, namespace: ns, name: "promo" })) as {
      spec: Record<string, unknown>;
    };
    expect(promoted.spec).toMatchObject({
      mode: "Alert",
      podSelector: { matchLabels: { app: "web" } },
      listeners: [{ port: 9999, protocol: "TCP", address: "0.0.0.0", process: "slwl-op" }],
    });
    const events = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    expect(events.items.find((e) => e.regarding?.name === "promo")).toMatchObject({
      type: "Normal",
      reason: "Promoted",
    });
  });

  it("elects one leader on a Lease and hands over when it steps down", async () => {
    const lease = `test-lease-${process.pid}`;
    const events: string[] = [];
    const make = (id: string) =>
      new LeaderElector(kc, {
        namespace: ns,
        name: lease,
        identity: id,
        leaseDurationMs: 3000,
        renewDeadlineMs: 2000,
        retryMs: 300,
        onStart: () => events.push(`${id} leads`),
        onStop: () => events.push(`${id} stopped`),
      });
    const a = make("a");
    const b = make("b");
    a.start();
    await waitFor("a leads", async () => a.leading, { timeoutMs: 10_000 });
    b.start();
    await new Promise((r) => setTimeout(r, 1500));
    expect(b.leading).toBe(false);
    await a.stop();
    await waitFor("b takes over", async () => b.leading, { timeoutMs: 10_000 });
    await b.stop();
    expect(events).toEqual(["a leads", "b leads"]);
    const l = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: lease, namespace: ns });
    expect(l.spec?.leaseTransitions).toBe(1);
  });

  it("runs as `socklens operator`, writes status, and releases its Lease on SIGTERM", async () => {
    const name = "cli";
    // Stop the in-process controller first, so only the CLI can write this status.
    stop.abort();
    await controller.stop();
    await custom.createNamespacedCustomObject({
      ...nbl,
      namespace: ns,
      body: {
        apiVersion: "socklens.io/v1alpha1",
        kind: "NetworkBaseline",
        metadata: { name },
        spec: { podSelector: {}, mode: "Learn" },
      },
    });
    expect(await status(name)).toBeUndefined();
    const child = spawn(
      process.execPath,
      [
        join(REPO, "bin", "socklens.js"),
        "operator",
        "--kubeconfig",
        clusterContext().kubeconfig,
        "--lease-namespace",
        ns,
        "--identity",
        "cli-1",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    try {
      await waitFor(
        "the CLI operator's status",
        async () => cond(await status(name), "Learning")?.status === "True",
        { timeoutMs: 30_000, describe: () => stderr },
      );
      expect(stderr).toContain('"msg":"became leader"');
    } finally {
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
    const l = await kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: "socklens-operator", namespace: ns });
    expect(l.spec?.holderIdentity ?? "").toBe("");
  });
});
