/**
 * The node liveness Lease on the real API server (ADR 0025): the agent's NodeLease creates and
 * renews `socklens-agent-<node>`; while it is live the agent's ObservationPublisher writes an
 * unchanged observation never again (heartbeats come back only when the Lease is not renewed);
 * the real BaselineController counts a node's observations while its Lease is live, drops the
 * node when the Lease expires (no event: its timer) and counts it again when the Lease is
 * renewed; a node without a Lease is judged by its observation's windowEnd.
 *
 * Short Leases (a 1 s renewal, 3 s duration) instead of the real 5 min / 15 min; the
 * assertions wait for states, never for times.
 */
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  V1MicroTime,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ObservationPublisher } from "../../src/agent/publish.js";
import { buildObservation, type ObservationSpec } from "../../src/core/baseline/observation.js";
import { NodeLease } from "../../src/kube/node-lease.js";
import { ObservationWriter } from "../../src/kube/observations.js";
import { BaselineController } from "../../src/operator/controller.js";
import { adminKubeConfig, createNamespace, uniqueName } from "./env.js";
import { applyCrds, repoCrds, runningPod } from "./kube.js";
import { waitFor } from "./process.js";

const REPO = new URL("../..", import.meta.url).pathname;
const NBL = { group: "socklens.io", version: "v1alpha1", plural: "networkbaselines" } as const;
const NOB = { group: "socklens.io", version: "v1alpha1", plural: "networkobservations" } as const;
const SHORT = { renewMs: 1000, durationSeconds: 3, retryMs: 200 };

let kc: KubeConfig;
let ns: string;
let custom: CustomObjectsApi;
const leases: NodeLease[] = [];
let controller: BaselineController | undefined;
const stop = new AbortController();
const controllerLog: string[] = [];

interface Status {
  violations?: { total: number; byRule?: Record<string, number> };
  conditions?: { type: string; status: string; reason: string; message: string }[];
}
const status = async (name: string) =>
  ((await custom.getNamespacedCustomObject({ ...NBL, namespace: ns, name })) as { status?: Status }).status;
const violating = async (name: string) =>
  (await status(name))?.conditions?.find((c) => c.type === "Violating")?.message ?? "";

/** An observation of `baseline` from `node` with one active finding, ending at `end`. */
function spec(baseline: string, node: string, end = new Date()): ObservationSpec {
  return {
    ...buildObservation(baseline, node, [], [], new Date(end.getTime() - 30_000), end, {
      baselineNamespace: ns,
    }),
    pods: [`${baseline}-${node}`],
    violations: { UnexpectedListener: 1 },
  };
}

const resourceVersion = async (name: string) =>
  (
    (await custom.getNamespacedCustomObject({ ...NOB, namespace: ns, name })) as {
      metadata: { resourceVersion: string };
    }
  ).metadata.resourceVersion;

beforeAll(async () => {
  kc = adminKubeConfig();
  custom = kc.makeApiClient(CustomObjectsApi);
  await applyCrds(kc, await repoCrds(REPO));
  ns = await createNamespace(kc, "lease");
});

afterAll(async () => {
  stop.abort();
  for (const l of leases) await l.stop();
  await controller?.stop();
  if (controllerLog.length) console.log(`[node-lease] controller log:\n  ${controllerLog.join("\n  ")}`);
});

describe("the agent's node Lease", () => {
  it("is created, held by the node, and renewed; a failed renewal is retried, never thrown", async () => {
    const node = uniqueName("lease-n");
    const log: string[] = [];
    const lease = new NodeLease(kc, { namespace: ns, nodeName: node, ...SHORT, log: (m) => log.push(m) });
    leases.push(lease);
    lease.start();
    const coordination = kc.makeApiClient(CoordinationV1Api);
    await waitFor("the Lease to exist", async () => lease.stats.renewed >= 1, { timeoutMs: 20_000 });
    const first = await coordination.readNamespacedLease({ name: `socklens-agent-${node}`, namespace: ns });
    expect(first.spec).toMatchObject({ holderIdentity: node, leaseDurationSeconds: 3 });
    expect(first.metadata?.labels).toMatchObject({ "socklens.io/node-lease": "true" });
    // renewTime as the client hands it (a string or a Date, whichever it made of it).
    const renewed = (l: typeof first) => JSON.stringify(l.spec?.renewTime);
    await waitFor(
      "a renewal",
      async () =>
        renewed(await coordination.readNamespacedLease({ name: lease.name, namespace: ns })) !==
        renewed(first),
      { timeoutMs: 20_000 },
    );
    expect(lease.healthy()).toBe(true);
    await lease.stop();
    expect(log).toContain("node lease renewed");

    // Someone else changed the Lease under it (a conflict on its cached copy): the renewal
    // fails, is counted and logged once, and the next one reads the Lease afresh.
    const current = await coordination.readNamespacedLease({ name: lease.name, namespace: ns });
    await coordination.replaceNamespacedLease({
      name: lease.name,
      namespace: ns,
      body: { ...current, spec: { ...current.spec, renewTime: new V1MicroTime(Date.now()) } },
    });
    expect(await lease.renew()).toBe(false);
    expect(lease.stats.lastError).toMatch(/^HTTP 409/);
    expect(await lease.renew()).toBe(true);
    expect(log.filter((m) => m === "node lease not renewed, retrying")).toHaveLength(1);
    expect(log).toContain("node lease renewed again");
  });

  it("while it is live an unchanged observation is not re-written; without it the heartbeat comes back", async () => {
    const node = uniqueName("lease-p");
    const lease = new NodeLease(kc, { namespace: ns, nodeName: node, ...SHORT });
    expect(await lease.renew()).toBe(true);
    // The agent's clock, injected: days pass between windows without waiting for them.
    let clock = Date.now();
    const writer = new ObservationWriter(kc);
    const publisher = new ObservationPublisher(writer, () =>
      lease.healthy(clock) ? Number.POSITIVE_INFINITY : 15 * 60_000,
    );
    const windows = async (n: number, stepMs: number) => {
      const reasons: string[] = [];
      for (let i = 0; i < n; i++) {
        const p = publisher.publish(ns, spec("quiet", node, new Date(clock)), clock);
        if (p) {
          reasons.push(p.reason);
          expect(await p.done).toBe(true);
        }
        clock += stepMs;
      }
      return reasons;
    };
    expect(await windows(1, 0)).toEqual(["new"]);
    const rv = await resourceVersion(`quiet.${node}`);
    // 20 windows with the Lease renewed (renew() again just before each, as its
    // timer would): nothing is written, the object is unchanged on the server.
    const reasons: string[] = [];
    for (let i = 0; i < 20; i++) {
      expect(await lease.renew()).toBe(true);
      clock = Date.now() + i; // healthy() judges the last renewal by this clock
      reasons.push(...(await windows(1, 0)));
    }
    expect(reasons).toEqual([]);
    expect(await resourceVersion(`quiet.${node}`)).toBe(rv);
    expect(writer.stats).toMatchObject({ written: 1, failed: 0 });
    // The Lease is no longer renewed (an outage): past its duration the heartbeat is back.
    clock = Date.now() + 16 * 60_000;
    expect(lease.healthy(clock)).toBe(false);
    expect(await windows(1, 0)).toEqual(["heartbeat"]);
    expect(await resourceVersion(`quiet.${node}`)).not.toBe(rv);
  });
});

describe("the operator judges a node's observations by its Lease", () => {
  it("counts a live node, drops it when its Lease expires, counts it again when renewed; a node without a Lease by windowEnd", async () => {
    const [n1, n2, old, dead] = ["a", "b", "old", "dead"].map((x) => uniqueName(`lease-${x}`)) as [
      string,
      string,
      string,
      string,
    ];
    const core = kc.makeApiClient(CoreV1Api);
    let ip = 1;
    for (const node of [n1, n2, old, dead])
      await runningPod(
        core,
        ns,
        {
          metadata: { name: `web-${node}`, labels: { app: "web" } },
          spec: { nodeName: node, containers: [{ name: "c", image: "example.invalid/x" }] },
        },
        `10.236.0.${ip++}`,
      );
    await custom.createNamespacedCustomObject({
      ...NBL,
      namespace: ns,
      body: {
        apiVersion: "socklens.io/v1alpha1",
        kind: "NetworkBaseline",
        metadata: { name: "web" },
        spec: { podSelector: { matchLabels: { app: "web" } }, listeners: [] },
      },
    });
    const writer = new ObservationWriter(kc);
    // n1, n2: current agents with Leases. old: an agent from before Leases, writing fresh
    // heartbeats. dead: an old agent that stopped an hour ago (windowEnd an hour old).
    for (const node of [n1, n2, old]) await writer.write(ns, spec("web", node));
    await writer.write(ns, spec("web", dead, new Date(Date.now() - 60 * 60_000)));
    expect(writer.stats).toMatchObject({ written: 4, failed: 0 });
    // n1's observation is old (written on change only, long ago): its live Lease is what counts.
    await writer.write(ns, spec("web", n1, new Date(Date.now() - 3 * 60 * 60_000)));

    const l1 = new NodeLease(kc, { namespace: ns, nodeName: n1, ...SHORT });
    let l2 = new NodeLease(kc, { namespace: ns, nodeName: n2, ...SHORT });
    leases.push(l1, l2);
    l1.start();
    l2.start();
    await waitFor("both Leases", async () => l1.healthy() && l2.healthy(), { timeoutMs: 20_000 });

    controller = new BaselineController(kc, {
      agentNamespace: ns,
      minBackoffMs: 200,
      maxBackoffMs: 1000,
      log: (m, f) => controllerLog.push(JSON.stringify({ m, ...f })),
    });
    void controller.run(stop.signal);
    const nodesIn = (message: string) =>
      message
        .replace(/^.*on node\(s\) /, "")
        .split(", ")
        .sort();
    await waitFor("n1, n2 and old counted", async () => (await status("web"))?.violations?.total === 3, {
      timeoutMs: 30_000,
    });
    expect(nodesIn(await violating("web"))).toEqual([n1, n2, old].sort());

    // n2's agent stops: no event says so; its Lease runs out and the operator's timer notices.
    await l2.stop();
    await waitFor("n2 dropped", async () => (await status("web"))?.violations?.total === 2, {
      timeoutMs: 30_000,
    });
    expect(nodesIn(await violating("web"))).toEqual([n1, old].sort());
    await waitFor(
      "the expiry in the operator's log",
      async () => controllerLog.some((l) => l.includes("node lease expired") && l.includes(n2)),
      { timeoutMs: 10_000 },
    );

    // It comes back (a new agent pod): renewed, counted again.
    l2 = new NodeLease(kc, { namespace: ns, nodeName: n2, ...SHORT });
    leases.push(l2);
    l2.start();
    await waitFor("n2 back", async () => (await status("web"))?.violations?.total === 3, {
      timeoutMs: 30_000,
    });
    expect(nodesIn(await violating("web"))).toEqual([n1, n2, old].sort());

    // The baseline's pod leaves n1 (the agent there stops writing for it; its Lease stays
    // live): n1's last observation no longer counts.
    await core.deleteNamespacedPod({ namespace: ns, name: `web-${n1}`, gracePeriodSeconds: 0 });
    await waitFor("n1 dropped with its pod", async () => (await status("web"))?.violations?.total === 2, {
      timeoutMs: 30_000,
    });
    expect(nodesIn(await violating("web"))).toEqual([n2, old].sort());
  });
});
