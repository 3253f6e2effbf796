/**
 * Identity baselines survive Kubernetes churn (issue 8, "Tests that must exist"). Two
 * Deployment-shaped workloads — `api` calls `db` on 5432 — with ReplicaSets and
 * ownerReferences in a real API server; each pod's process runs in its own network namespace
 * on a bridged pod network and in its pod's kubepods cgroup. The agent and the operator run
 * in-process: Learn mode must learn the peers as workload selectors, and the exported
 * baselines, applied in Alert, must stay silent through a rollout of db (new ReplicaSet,
 * pod, UID and IP, while api's TIME_WAIT sockets to the old IP linger), a scale-out of api
 * and a restart of an api pod: zero Events, zero violations. Then a `mail` pod — on the IP
 * the restarted api pod just gave up — calls db, and api calls a new workload `cache`: one
 * finding each, naming the caller and the callee. The pods are API objects and the test's
 * own processes (test/cluster/kube.ts runningPod, PodNetwork; test/host/sandbox.ts); needs
 * root, and skips saying so without it.
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type EventsV1Event,
  type KubeConfig,
  type V1Deployment,
  type V1ReplicaSet,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { Agent } from "../../src/agent/agent.js";
import type { Learned, NetworkBaselineInput } from "../../src/api/v1alpha1/networkbaseline.js";
import { validateBaselines } from "../../src/api/validate.js";
import { baselineFromLearned } from "../../src/core/baseline/export.js";
import { EventRecorder } from "../../src/kube/events.js";
import { ObservationWriter } from "../../src/kube/observations.js";
import { ClusterWatcher } from "../../src/kube/watcher.js";
import { BaselineController } from "../../src/operator/controller.js";
import { collectSockets } from "../../src/procfs/collect.js";
import { procPathsFromEnv } from "../../src/procfs/paths.js";
import { hostTestsUnavailable, REPO, Sandbox, type Workload, type WorkloadSpec } from "../host/sandbox.js";
import { adminKubeConfig, createNamespace } from "./env.js";
import {
  applyCrds,
  createDeployment,
  createReplicaSet,
  ownBaselines,
  PodNetwork,
  podOf,
  repoCrds,
  runningPod,
  terminatePod,
} from "./kube.js";
import { waitFor } from "./process.js";

const unavailable = hostTestsUnavailable("identity-rollout.test.ts");
const NODE = `sl-roll-${process.pid}`;
const AGENT = "socklens.io/agent";
const nbl = { group: "socklens.io", version: "v1alpha1", plural: "networkbaselines" } as const;
const nobs = { group: "socklens.io", version: "v1alpha1", plural: "networkobservations" } as const;

// One /24 pod network on the bridge. API_1's address is reused by the mail pod at the end.
const DB_1 = "10.237.0.10";
const DB_2 = "10.237.0.11";
const API_1 = "10.237.0.20";
const API_2 = "10.237.0.21";
const API_3 = "10.237.0.22";
const CACHE = "10.237.0.40";

const selects = (app: string) => ({ podSelector: { matchLabels: { app } } });

interface PodRun {
  name: string;
  uid: string;
  netns: string;
  procs: Workload[];
}

interface BaselineObject {
  metadata: { name: string; namespace: string };
  spec: NetworkBaselineInput["spec"];
  status?: {
    learned?: Learned;
    matchedPods?: number;
    violations?: { total: number };
    conditions?: { type: string; status: string }[];
  };
}

interface ObservationObject {
  metadata: { name: string };
  spec: {
    baseline: string;
    pods: string[];
    violations: Record<string, number>;
    egress: { address: string; port: number; peer?: unknown }[];
    ingress: { address: string; port: number; peer?: unknown }[];
  };
}

describe.skipIf(unavailable !== null)("identity baselines through a rollout", () => {
  const box = new Sandbox();
  const stop = new AbortController();
  const logs: string[] = [];
  let kc: KubeConfig;
  let ns: string;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let custom: CustomObjectsApi;
  let net: PodNetwork;
  let watcher: ClusterWatcher;
  let controller: BaselineController;
  let writer: ObservationWriter;
  let agent: Agent;
  const deployments = new Map<string, V1Deployment>();
  const replicaSets = new Map<string, V1ReplicaSet>();
  const run = new Map<string, PodRun>();

  const log = (m: string, f?: Record<string, unknown>) => logs.push(JSON.stringify({ m, ...f }));
  const baseline = async (name: string) =>
    (await custom.getNamespacedCustomObject({ ...nbl, namespace: ns, name })) as BaselineObject;
  const observations = async () =>
    ((await custom.listNamespacedCustomObject({ ...nobs, namespace: ns })) as { items: ObservationObject[] })
      .items;
  const warnings = async (): Promise<EventsV1Event[]> =>
    (await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns })).items.filter(
      (e) => e.type === "Warning",
    );
  const describeState = async () =>
    [
      `writer ${JSON.stringify(writer?.stats)} controller ${JSON.stringify(controller?.stats)}`,
      ...(await warnings()).map((e) => `Event ${e.reason} on ${e.regarding?.name}: ${e.note}`),
      ...logs.slice(-5),
    ].join("\n");

  /** Run a process in a pod: in its network namespace and its kubepods cgroup. */
  const exec = async (pod: PodRun, spec: WorkloadSpec): Promise<Workload> => {
    const w = await box.workload(pod.netns, spec);
    box.podCgroup(pod.uid, w.pid);
    pod.procs.push(w);
    return w;
  };
  const kill = async (w: Workload): Promise<void> => {
    if (w.child.exitCode !== null || w.child.signalCode !== null) return;
    const exited = new Promise((r) => w.child.once("exit", r));
    w.child.kill("SIGTERM");
    await exited;
  };

  /**
   * What the ReplicaSet controller, scheduler, CNI and kubelet would do for a new pod: the
   * object (Running, with its IP), a network namespace with that IP, the process. Returns
   * once the agent's informer has the pod.
   */
  const startPod = async (rs: string, suffix: string, address: string, spec: WorkloadSpec) => {
    const created = await runningPod(
      core,
      ns,
      podOf(replicaSets.get(rs) as V1ReplicaSet, suffix, NODE),
      address,
    );
    const name = created.metadata?.name as string;
    await waitFor(
      `the agent's view of pod ${name}`,
      async () => watcher.index().podByName(ns, name)?.ips.includes(address) === true,
      { timeoutMs: 20_000 },
    );
    const pod: PodRun = {
      name,
      uid: created.metadata?.uid as string,
      netns: net.add(suffix, address),
      procs: [],
    };
    run.set(name, pod);
    await exec(pod, spec);
    return pod;
  };

  /**
   * Terminating (scanned once in that state, its processes still running), processes
   * stopped, address released, object removed: a pod going away.
   */
  const endPod = async (pod: PodRun) => {
    await terminatePod(core, ns, pod.name, async () => {
      await waitFor(
        `the agent sees ${pod.name} Terminating`,
        async () => watcher.index().podByName(ns, pod.name)?.gone === true,
        { timeoutMs: 20_000 },
      );
      await quietCycles(1, `${pod.name} Terminating`);
      for (const w of pod.procs) await kill(w);
      net.release(pod.netns);
    });
    run.delete(pod.name);
  };

  const dbServer = (): WorkloadSpec => ({
    title: "slwl-db",
    listen: [{ proto: "tcp", host: "0.0.0.0", port: 5432 }],
  });
  const apiClient = (db: string): WorkloadSpec => ({
    title: "slwl-api",
    connect: [{ proto: "tcp", host: db, port: 5432 }],
  });

  /** `n` agent scans; each must find nothing. */
  const quietCycles = async (n: number, what: string) => {
    for (let i = 1; i <= n; i++) {
      const r = await agent.cycle();
      expect(r.skipped, what).toBeUndefined();
      if (r.findings > 0)
        expect.fail(`${what}, scan ${i}: ${r.findings} finding(s)\n${await describeState()}`);
    }
  };

  beforeAll(async () => {
    kc = adminKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    await applyCrds(kc, await repoCrds(REPO));
    ns = await createNamespace(kc, "rollout");
    net = new PodNetwork(box);

    for (const app of ["api", "db", "mail", "cache"])
      deployments.set(app, await createDeployment(apps, ns, app));
    const revision = async (app: string, hash: string) =>
      replicaSets.set(
        `${app}-${hash}`,
        await createReplicaSet(apps, deployments.get(app) as V1Deployment, hash),
      );
    await revision("api", "7c9d8f6b5");
    await revision("db", "5f8b7c6d9");

    for (const name of ["api", "db"]) {
      await custom.createNamespacedCustomObject({
        ...nbl,
        namespace: ns,
        body: {
          apiVersion: "socklens.io/v1alpha1",
          kind: "NetworkBaseline",
          metadata: { name },
          spec: { ...selects(name), mode: "Learn" },
        },
      });
    }

    watcher = new ClusterWatcher(kc, [], { nodeName: NODE, onError: (k, e) => log("watch error", { k, e }) });
    await waitFor("the agent's cluster view", async () => watcher.synced && ownBaselines(watcher, ns) === 2, {
      timeoutMs: 20_000,
    });
    writer = new ObservationWriter(kc);
    agent = new Agent({
      nodeName: NODE,
      watcher,
      recorder: new EventRecorder(kc, {
        controller: AGENT,
        instance: `socklens-agent-${NODE}`,
        seriesUpdateMs: 0,
      }),
      observations: writer,
      observationIntervalMs: 0,
      paths: procPathsFromEnv(process.env),
      log,
    });
    controller = new BaselineController(kc, {
      recorder: new EventRecorder(kc, { controller: "socklens.io/operator", instance: "rollout-test" }),
      minBackoffMs: 200,
      maxBackoffMs: 1000,
      log,
    });
    void controller.run(stop.signal);

    await startPod("db-5f8b7c6d9", "k2x9q", DB_1, dbServer());
    await startPod("api-7c9d8f6b5", "m4v7p", API_1, apiClient(DB_1));
  });

  afterAll(async () => {
    stop.abort();
    await controller?.stop();
    await watcher?.stop();
    try {
      await box.cleanup();
    } finally {
      if (ns) {
        // No kubelet will finish these pods: remove them outright, then the namespace.
        await core.deleteCollectionNamespacedPod({ namespace: ns, gracePeriodSeconds: 0 });
        await core.deleteNamespace({ name: ns });
      }
    }
  });

  const exported = new Map<string, NetworkBaselineInput>();

  it("learns the peers as workload identities, and exports them without a pod IP", async () => {
    const hasPeer = (peers: Learned["egress"], app: string) =>
      (peers ?? []).some((p) => JSON.stringify(p.peer) === JSON.stringify(selects(app)) && p.port === 5432);
    await waitFor(
      "status.learned: api egress to pods {app=db}, db ingress from pods {app=api}",
      async () => {
        await agent.cycle();
        const [api, db] = [await baseline("api"), await baseline("db")];
        return hasPeer(api.status?.learned?.egress, "db") && hasPeer(db.status?.learned?.ingress, "api");
      },
      { timeoutMs: 30_000, intervalMs: 300, describe: () => logs.slice(-5).join("\n") },
    );
    expect(writer.stats, writer.stats.lastError).toMatchObject({ failed: 0 });

    const api = await baseline("api");
    const db = await baseline("db");
    expect(api.status?.learned).toMatchObject({
      listeners: [],
      egress: [
        { address: DB_1, peer: selects("db"), identity: `deployment ${ns}/db`, port: 5432, protocol: "TCP" },
      ],
      ingress: [],
    });
    expect(db.status?.learned).toMatchObject({
      listeners: [{ port: 5432, protocol: "TCP", address: "0.0.0.0", process: "slwl-db" }],
      egress: [],
      ingress: [
        {
          address: API_1,
          peer: selects("api"),
          identity: `deployment ${ns}/api`,
          port: 5432,
          protocol: "TCP",
        },
      ],
    });

    for (const b of [api, db]) exported.set(b.metadata.name, baselineFromLearned(b, b.status?.learned ?? {}));
    const apiSpec = exported.get("api")?.spec;
    const dbSpec = exported.get("db")?.spec;
    expect(apiSpec).toMatchObject({ ...selects("api"), mode: "Alert", listeners: [], ingress: [] });
    expect(apiSpec?.egress).toEqual([{ to: [selects("db")], ports: [{ port: 5432, protocol: "TCP" }] }]);
    expect(dbSpec).toMatchObject({ ...selects("db"), mode: "Alert", egress: [] });
    expect(dbSpec?.ingress).toEqual([{ from: [selects("api")], ports: [{ port: 5432, protocol: "TCP" }] }]);
    for (const b of exported.values()) {
      const text = stringify(b);
      expect(text).not.toContain("10.237.");
      expect(text).not.toContain("pod-template-hash");
      expect(validateBaselines(text, `${b.metadata.name}.yaml`).problems).toEqual([]);
      console.log(
        `exported ${ns}/${b.metadata.name}:\n${stringify({ egress: b.spec.egress, ingress: b.spec.ingress })}`,
      );
    }
  });

  it("applies the exported baselines in Alert: the steady state is silent", async () => {
    expect(exported.size).toBe(2);
    for (const [name, b] of exported)
      await custom.patchNamespacedCustomObject({
        ...nbl,
        namespace: ns,
        name,
        body: [{ op: "replace", path: "/spec", value: b.spec }],
      });
    await waitFor(
      "the agent sees both baselines in Alert",
      async () =>
        watcher
          .baselines()
          .filter(
            (b) =>
              (b as BaselineObject).metadata.namespace === ns && (b as BaselineObject).spec.mode === "Alert",
          ).length === 2,
      { timeoutMs: 20_000 },
    );
    await quietCycles(2, "steady state in Alert");
  });

  it("stays silent through a rollout of db, a scale-out of api and a restart of an api pod", async () => {
    const api1 = run.get("api-7c9d8f6b5-m4v7p") as PodRun;
    const db1 = run.get("db-5f8b7c6d9-k2x9q") as PodRun;

    // Rollout of db: a new revision, its pod up first (maxSurge), then the old one goes.
    replicaSets.set(
      "db-6d4c9b8f7",
      await createReplicaSet(apps, deployments.get("db") as V1Deployment, "6d4c9b8f7"),
    );
    await startPod("db-6d4c9b8f7", "w8n3r", DB_2, dbServer());
    // api's pool reconnects to the new db; closing the old connection leaves TIME_WAIT to DB_1.
    const old = api1.procs[0] as Workload;
    await exec(api1, apiClient(DB_2));
    await kill(old);
    api1.procs.splice(api1.procs.indexOf(old), 1);
    await quietCycles(1, "db surged, api reconnected");
    await endPod(db1);

    // Scale-out of api: a second pod that also calls db.
    await startPod("api-7c9d8f6b5", "t6j2c", API_2, apiClient(DB_2));
    const lingering = (await collectSockets({ paths: procPathsFromEnv(process.env) })).sockets.filter(
      (s) => s.netns === box.nsInode(api1.netns) && s.remoteAddress === DB_1 && s.state === "TIME_WAIT",
    );
    expect(lingering.length, "api's TIME_WAIT sockets to the old db pod").toBeGreaterThan(0);
    await quietCycles(2, "db rolled, api scaled out");
    // Why that is silent: the old db pod is deleted (this watch delivered the later api pod,
    // so the delete too), and its tombstone still names DB_1 for those TIME_WAIT sockets.
    const index = watcher.index();
    expect(index.podByName(ns, db1.name)?.gone, "the deleted db pod is a tombstone").toBe(true);
    expect(index.peer(DB_1), "DB_1 still means the db workload").toMatchObject({
      kind: "pod",
      name: db1.name,
      selector: { app: "db" },
    });

    // Restart of an api pod: gone with its IP, a new pod with a new name, UID and IP.
    await endPod(api1);
    await startPod("api-7c9d8f6b5", "h9s5d", API_3, apiClient(DB_2));
    await quietCycles(5, "after the rollout, scale-out and restart");

    expect(await warnings(), await describeState()).toEqual([]);
    expect(writer.stats, writer.stats.lastError).toMatchObject({ failed: 0 });
    const obs = await observations();
    expect(obs.map((o) => o.spec.baseline).sort()).toEqual(["api", "db"]);
    for (const o of obs) expect(o.spec.violations, o.metadata.name).toEqual({});
    // Both api pods and the new db address are one identity each in what the agent reports.
    const byBaseline = Object.fromEntries(obs.map((o) => [o.spec.baseline, o.spec]));
    expect(byBaseline.db?.ingress).toMatchObject([{ peer: selects("api"), port: 5432 }]);
    expect(byBaseline.api?.egress).toMatchObject([{ address: DB_2, peer: selects("db"), port: 5432 }]);
    await waitFor(
      "operator status: no violations, matched pods 2 api / 1 db",
      async () => {
        const [api, db] = [await baseline("api"), await baseline("db")];
        return (
          api.status?.violations?.total === 0 &&
          db.status?.violations?.total === 0 &&
          api.status.matchedPods === 2 &&
          db.status.matchedPods === 1 &&
          [api, db].every(
            (b) => b.status?.conditions?.find((c) => c.type === "Violating")?.status === "False",
          )
        );
      },
      { timeoutMs: 20_000, describe: () => JSON.stringify(controller.stats) },
    );
  });

  it("lists only the pods that still exist as observed", async () => {
    // A deleted pod's tombstone is there to name its IP for sockets that outlive it, not to
    // be a pod on this node: the observations must not list the old db and api pods for two
    // minutes after they were deleted (the operator's matchedPods does not count them either).
    const pods = Object.fromEntries((await observations()).map((o) => [o.spec.baseline, o.spec.pods]));
    expect(pods).toEqual({
      api: ["api-7c9d8f6b5-h9s5d", "api-7c9d8f6b5-t6j2c"],
      db: ["db-6d4c9b8f7-w8n3r"],
    });
  });

  it("names a new caller of db and a new callee of api: one finding each", async () => {
    const db2 = run.get("db-6d4c9b8f7-w8n3r") as PodRun;
    const api2 = run.get("api-7c9d8f6b5-t6j2c") as PodRun;
    replicaSets.set(
      "mail-8b6f5d7c4",
      await createReplicaSet(apps, deployments.get("mail") as V1Deployment, "8b6f5d7c4"),
    );
    replicaSets.set(
      "cache-4f7d6c9b8",
      await createReplicaSet(apps, deployments.get("cache") as V1Deployment, "4f7d6c9b8"),
    );
    // mail gets the address the restarted api pod gave up, while that pod's tombstone still
    // holds it: the live pod must win, or db would take mail for api.
    const mail = await startPod("mail-8b6f5d7c4", "z3b8f", API_1, {
      title: "slwl-mail",
      connect: [{ proto: "tcp", host: DB_2, port: 5432 }],
    });
    expect(watcher.index().peer(API_1), "API_1 now means the live mail pod").toMatchObject({
      kind: "pod",
      name: mail.name,
      selector: { app: "mail" },
    });
    const cache = await startPod("cache-4f7d6c9b8", "r7x2k", CACHE, {
      title: "slwl-cache",
      listen: [{ proto: "tcp", host: "0.0.0.0", port: 6379 }],
    });
    await exec(api2, { title: "slwl-api", connect: [{ proto: "tcp", host: CACHE, port: 6379 }] });

    const r = await agent.cycle();
    expect(r, await describeState()).toMatchObject({ findings: 2, newFindings: 2 });
    const events = await warnings();
    expect(events.map((e) => [e.reportingController, e.reason, e.regarding?.name]).sort()).toEqual([
      [AGENT, "UnexpectedEgress", api2.name],
      [AGENT, "UnexpectedIngress", db2.name],
    ]);
    const ingress = events.find((e) => e.reason === "UnexpectedIngress");
    const egress = events.find((e) => e.reason === "UnexpectedEgress");
    expect(ingress?.note).toMatch(
      new RegExp(
        `^pod ${ns}/${db2.name} accepted a connection from ${API_1.replaceAll(".", "\\.")} \\(pod ${ns}/${mail.name} of deployment mail\\) on port 5432/TCP \\(process slwl-db, pid \\d+\\)`,
      ),
    );
    expect(egress?.note).toMatch(
      new RegExp(
        `^pod ${ns}/${api2.name} connected to ${CACHE.replaceAll(".", "\\.")}:6379/TCP \\(pod ${ns}/${cache.name} of deployment cache\\) \\(process slwl-api, pid \\d+\\)`,
      ),
    );
    for (const e of [ingress, egress]) console.log(`finding ${e?.reason}: ${e?.note}`);

    const obs = await observations();
    expect(Object.fromEntries(obs.map((o) => [o.spec.baseline, o.spec.violations]))).toEqual({
      api: { UnexpectedEgress: 1 },
      db: { UnexpectedIngress: 1 },
    });
    // The same findings again are the same Events (series), not new ones.
    expect(await agent.cycle()).toMatchObject({ findings: 2, newFindings: 0 });
    expect(await warnings()).toHaveLength(2);
  });
});
