/**
 * `socklens ack --kubeconfig` and `socklens report --kubeconfig` on a real API server (issue
 * 10, items 3 and 4, cluster path), through bin/socklens.js:
 *
 * - ack writes spec.exceptions entries (verdict, by, created, expires) that the generated CRD
 *   keeps (nothing pruned) and --reviewed the reviewed-at annotation; a new generation each;
 * - the real BaselineController reports them in status.acknowledged, says so in Events, and,
 *   woken by its own requeue at the expiry, marks an expired one Expired with a Warning;
 * - Events written by the agent's own eventFor and EventRecorder (as the agent writes them,
 *   finding record in an annotation) are read back by report: the acknowledged beacon is
 *   suppressed, the confirmed discovery tool ranks first as high, grouped by workload.
 */
import { CoreV1Api, CustomObjectsApi, EventsV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventFor } from "../../src/agent/agent.js";
import type { Finding } from "../../src/core/baseline/types.js";
import { EventRecorder } from "../../src/kube/events.js";
import { BaselineController } from "../../src/operator/controller.js";
import { REPO, runCli } from "../host/sandbox.js";
import { adminKubeConfig, clusterContext, createNamespace } from "./env.js";
import { applyCrds, createBaseline, repoCrds, runningPod } from "./kube.js";
import { waitFor } from "./process.js";

const nbl = { group: "socklens.io", version: "v1alpha1", plural: "networkbaselines" } as const;

interface Exception {
  rule: string;
  address?: string;
  port?: number;
  process?: string;
  reason: string;
  expires?: string;
  verdict?: string;
  by?: string;
  created?: string;
}
interface Baseline {
  metadata: { generation: number; annotations?: Record<string, string> };
  spec: { exceptions?: Exception[] };
  status?: {
    acknowledged?: {
      active: number;
      expired: number;
      confirmed: number;
      patterns?: { pattern: string; state: string; verdict: string; by?: string }[];
    };
  };
}

describe("ack and report against a real API server", () => {
  let kc: KubeConfig;
  let ns: string;
  let custom: CustomObjectsApi;
  let controller: BaselineController;
  const stop = new AbortController();
  const kubeconfig = () => clusterContext().kubeconfig;
  const get = async () =>
    (await custom.getNamespacedCustomObject({ ...nbl, namespace: ns, name: "web" })) as Baseline;
  const ack = (...args: string[]) =>
    runCli(["ack", ...args, "--kubeconfig", kubeconfig(), "--namespace", ns, "--baseline", "web"]);

  beforeAll(async () => {
    kc = adminKubeConfig();
    custom = kc.makeApiClient(CustomObjectsApi);
    await applyCrds(kc, await repoCrds(REPO));
    ns = await createNamespace(kc, "ack");
    await createBaseline(kc, ns, "web", { podSelector: { matchLabels: { app: "web" } }, listeners: [] });
  });

  afterAll(async () => {
    stop.abort();
    await controller?.stop();
  });

  it("ack writes spec.exceptions entries the CRD keeps whole, one generation each", async () => {
    const before = (await get()).metadata.generation;
    const benign = ack(
      "Beaconing/198.51.100.7/443/*",
      "--reason",
      "vendor updater, TICKET-7",
      "--by",
      "alice",
      "--expires",
      "30d",
    );
    expect(benign.code, benign.stderr).toBe(0);
    expect(benign.stdout).toContain(
      `acknowledged Beaconing/198.51.100.7/443/* in NetworkBaseline ${ns}/web (spec.exceptions[0]`,
    );
    const confirmed = ack(
      "NetworkDiscoveryTool/*/*/ss",
      "--reason",
      "INC-42: ss run by the intruder",
      "--by",
      "bob",
      "--confirm",
      "--expires",
      "never",
    );
    expect(confirmed.code, confirmed.stderr).toBe(0);
    const short = ack(
      "UnexpectedListener/0.0.0.0/4444/*",
      "--reason",
      "debug port",
      "--by",
      "carol",
      "--expires",
      "1h",
    );
    expect(short.code, short.stderr).toBe(0);
    // Renewing the benign one replaces it instead of adding a fourth entry.
    const renewed = ack(
      "Beaconing/198.51.100.7/443/*",
      "--reason",
      "vendor updater, TICKET-7 (renewed)",
      "--by",
      "alice",
      "--expires",
      "60d",
    );
    expect(renewed.stdout).toContain("replacing the entry for the same pattern");
    const reviewed = ack("--reviewed", "--by", "alice");
    expect(reviewed.code, reviewed.stderr).toBe(0);

    const b = await get();
    // Four spec changes; the annotation is metadata, not a new generation.
    expect(b.metadata.generation).toBe(before + 4);
    expect(b.metadata.annotations?.["socklens.io/reviewed-by"]).toBe("alice");
    expect(Date.parse(b.metadata.annotations?.["socklens.io/reviewed-at"] ?? "")).toBeGreaterThan(
      Date.now() - 120_000,
    );
    const ex = b.spec.exceptions ?? [];
    expect(ex.map((e) => [e.rule, e.verdict, e.by])).toEqual([
      ["Beaconing", "Benign", "alice"],
      ["NetworkDiscoveryTool", "Confirmed", "bob"],
      ["UnexpectedListener", "Benign", "carol"],
    ]);
    // Nothing pruned: the server's schema has every field ack writes.
    expect(Object.keys(ex[0] ?? {}).sort()).toEqual([
      "address",
      "by",
      "created",
      "expires",
      "port",
      "reason",
      "rule",
      "verdict",
    ]);
    expect(ex[0]?.reason).toBe("vendor updater, TICKET-7 (renewed)");
    expect(ex[1]?.expires).toBeUndefined();
  });

  it("ack on a missing baseline or a bad key fails with one line and changes nothing", async () => {
    const gen = (await get()).metadata.generation;
    const missing = runCli([
      "ack",
      "Beaconing/1.2.3.4/443/*",
      "--reason",
      "r",
      "--kubeconfig",
      kubeconfig(),
      "--namespace",
      ns,
      "--baseline",
      "nope",
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`no NetworkBaseline ${ns}/nope`);
    const bad = ack("Beaconing/not-an-ip/443/*", "--reason", "r");
    expect(bad.code).toBe(2);
    // The API server's own CEL rule refuses the address; ack says so in one line.
    expect(bad.stderr).toMatch(/cannot update NetworkBaseline .*HTTP 422/);
    expect((await get()).metadata.generation).toBe(gen);
  });

  it("the operator reports acknowledged patterns in status, and an expired one as Expired with a Warning", async () => {
    // The listener's acknowledgement now ends 15 s from now (a CLI run under load takes
    // seconds, so ack --expires cannot aim this close); what the operator does at expiry is
    // the point here.
    const soon = new Date(Math.ceil(Date.now() / 1000) * 1000 + 15_000).toISOString().replace(".000Z", "Z");
    await custom.patchNamespacedCustomObject({
      ...nbl,
      namespace: ns,
      name: "web",
      body: [{ op: "replace", path: "/spec/exceptions/2/expires", value: soon }],
    });
    controller = new BaselineController(kc, {
      recorder: new EventRecorder(kc, { controller: "socklens.io/operator", instance: "test" }),
      minBackoffMs: 200,
      maxBackoffMs: 1000,
    });
    void controller.run(stop.signal);
    await waitFor("status.acknowledged", async () => (await get()).status?.acknowledged?.active === 2, {
      timeoutMs: 20_000,
    });
    const s = (await get()).status?.acknowledged;
    expect(s).toMatchObject({ active: 2, expired: 0, confirmed: 1 });
    expect(s?.patterns?.map((p) => [p.pattern, p.verdict, p.state, p.by])).toEqual([
      ["Beaconing/198.51.100.7/443/*", "Benign", "Active", "alice"],
      ["NetworkDiscoveryTool/*/*/ss", "Confirmed", "Active", "bob"],
      ["UnexpectedListener/0.0.0.0/4444/*", "Benign", "Active", "carol"],
    ]);
    // No write, no event: only the controller's requeue at the expiry can notice it.
    await waitFor(
      "the listener's acknowledgement to expire",
      async () => (await get()).status?.acknowledged?.expired === 1,
      {
        timeoutMs: 45_000,
      },
    );
    expect((await get()).status?.acknowledged).toMatchObject({ active: 1, expired: 1, confirmed: 1 });
    const events = (await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns })).items.filter(
      (e) => e.regarding?.kind === "NetworkBaseline",
    );
    const reasons = events.map((e) => e.reason).sort();
    expect(reasons).toEqual([
      "AcknowledgementExpired",
      "IncidentConfirmed",
      "PatternAcknowledged",
      "PatternAcknowledged",
    ]);
    expect(events.find((e) => e.reason === "AcknowledgementExpired")?.note).toContain(
      "the acknowledgement of UnexpectedListener/0.0.0.0/4444/* by carol expired",
    );
  }, 90_000);

  it("report --kubeconfig reads the agent's Events: suppressed, confirmed first, by workload", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const pod = await runningPod(
      core,
      ns,
      {
        metadata: { name: "web-0", labels: { app: "web" } },
        spec: { containers: [{ name: "c", image: "example.invalid/x" }] },
      },
      "10.237.0.1",
    );
    const ref = { namespace: ns, name: "web-0", uid: pod.metadata?.uid as string };
    const workload = { kind: "Deployment", name: "web" };
    const recorder = new EventRecorder(kc, { controller: "socklens.io/agent", instance: "node-a" });
    const findings: Finding[] = [
      {
        rule: "Beaconing",
        severity: "medium",
        message: `pod ${ns}/web-0 opened 19 connections to 198.51.100.7:443/TCP at a steady 1.0 s interval (jitter 3%) over 18 s`,
        baseline: "",
        scope: `pod ${ns}/web-0`,
        peer: { direction: "egress", address: "198.51.100.7", port: 443, protocol: "TCP" },
        count: 19,
      },
      {
        rule: "NetworkDiscoveryTool",
        severity: "medium",
        message: `pod ${ns}/web-0 ran ss (pid 4618): ss -tanp`,
        baseline: "",
        scope: `pod ${ns}/web-0`,
        holder: { pid: 4618, process: "ss", cmdline: "ss\0-tanp" },
        count: 1,
      },
      {
        rule: "UnexpectedEgress",
        severity: "medium",
        message: `pod ${ns}/web-0 connected to 203.0.113.9:4444/TCP (process curl, pid 77)`,
        baseline: `${ns}/web`,
        scope: `pod ${ns}/web-0`,
        peer: { direction: "egress", address: "203.0.113.9", port: 4444, protocol: "TCP" },
        socket: {
          protocol: "tcp",
          localAddress: "10.237.0.1",
          localPort: 40000,
          remoteAddress: "203.0.113.9",
          remotePort: 4444,
          state: "ESTABLISHED",
          pid: 77,
          process: "curl",
          netns: 1,
        },
        count: 1,
      },
    ];
    for (const f of findings) await recorder.record(eventFor(f, ref, `k|${f.rule}`, workload));
    // An older agent's Event: no annotation, only reason and note.
    await recorder.record({
      regarding: { apiVersion: "v1", kind: "Pod", ...ref },
      type: "Warning",
      reason: "CloseWaitLeak",
      note: `pod ${ns}/web-0 has held 10 TCP sockets in CLOSE_WAIT`,
      key: "k|old",
    });
    expect(recorder.stats).toMatchObject({ created: 4, failed: 0 });

    const r = runCli([
      "report",
      "--kubeconfig",
      kubeconfig(),
      "--namespace",
      ns,
      "--since",
      "1h",
      "-o",
      "json",
    ]);
    expect(r.code, r.stderr).toBe(1);
    const json = JSON.parse(r.stdout) as {
      totals: { findings: number; suppressed: number; confirmed: number };
      workloads: {
        id: string;
        title: string;
        summary: string;
        findings: { rule: string; severity: string; key: string; confirmed?: unknown; new?: boolean }[];
        suppressed: number;
      }[];
    };
    expect(json.totals).toMatchObject({ findings: 3, suppressed: 1, confirmed: 1 });
    const groups = json.workloads.map((w) => w.id).sort();
    // Annotated Events name the workload; the older one only its pod.
    expect(groups).toEqual([`deployment ${ns}/web`, `pod ${ns}/web-0`]);
    const web = json.workloads.find((w) => w.id === `deployment ${ns}/web`);
    expect(web?.findings.map((f) => [f.rule, f.severity])).toEqual([
      ["NetworkDiscoveryTool", "high"],
      ["UnexpectedEgress", "medium"],
    ]);
    expect(web?.suppressed).toBe(1);
    expect(web?.findings[0]?.confirmed).toMatchObject({
      reason: "INC-42: ss run by the intruder",
      by: "bob",
    });
    // The Events came after the review (ack --reviewed above): new.
    expect(web?.findings.every((f) => f.new === true)).toBe(true);
    expect(web?.summary).toContain("`ss -tanp` run at");
    expect(web?.summary).toContain(
      "It matches a pattern confirmed as an incident: INC-42: ss run by the intruder.",
    );
    const text = runCli(["report", "--kubeconfig", kubeconfig(), "--namespace", ns, "--show-suppressed"]);
    expect(text.stdout).toContain(
      "suppressed Beaconing/198.51.100.7/443/*: vendor updater, TICKET-7 (renewed)",
    );
    expect(text.stdout).toContain(`web (${ns}): 2 new behaviours in the last hour`);
  });
});
