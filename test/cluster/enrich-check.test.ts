/**
 * Cluster knowledge end to end: pods, a ReplicaSet/Deployment, a Service and its
 * EndpointSlice in a real API server; the pods' "containers" are the test's own processes in
 * network namespaces and kubepods cgroups carrying the API objects' UIDs. `socklens scan
 * --kubeconfig` names pods, workloads and peers; `socklens check --kubeconfig --pod` decides
 * podSelector and service rules that the offline CLI can only report as undecidable.
 * Needs root (namespaces, cgroups) as well as the control plane.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api, DiscoveryV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { NetworkBaselineInput } from "../../src/api/v1alpha1/networkbaseline.js";
import type { FindingRecord } from "../../src/core/baseline/finding-record.js";
import type { Socket } from "../../src/core/socket.js";
import { hostTestsUnavailable, runCli, Sandbox } from "../host/sandbox.js";
import { adminKubeConfig, clusterContext, createNamespace } from "./env.js";
import { runningPod } from "./kube.js";

const unavailable = hostTestsUnavailable("enrich-check.test.ts");

describe.skipIf(unavailable !== null)("scan and check with cluster knowledge", () => {
  const box = new Sandbox();
  const dir = mkdtempSync(join(tmpdir(), "socklens-enrich-"));
  let kc: KubeConfig;
  let kubeconfig: string;
  let ns: string;
  let webPod: V1Pod;
  const WEB_IP = "10.233.0.1";
  const DB_IP = "10.233.0.2";

  const baseline = (file: string, egress: unknown[]) => {
    const path = join(dir, file);
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: "socklens.io/v1alpha1",
        kind: "NetworkBaseline",
        metadata: { name: "web", namespace: ns },
        spec: { podSelector: { matchLabels: { app: "web" } }, egress },
      }),
    );
    return path;
  };

  beforeAll(async () => {
    kc = adminKubeConfig();
    kubeconfig = clusterContext().kubeconfig;
    ns = await createNamespace(kc, "enrich");
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    // Deployment → ReplicaSet → Pod, as a controller-manager would have made them.
    const deploy = await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: "web" },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "app", image: "example.invalid/web" }] },
          },
        },
      },
    });
    const rs = await apps.createNamespacedReplicaSet({
      namespace: ns,
      body: {
        metadata: {
          name: "web-5f7c",
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "Deployment",
              name: "web",
              uid: deploy.metadata?.uid as string,
              controller: true,
            },
          ],
        },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "app", image: "example.invalid/web" }] },
          },
        },
      },
    });
    const makePod = (
      name: string,
      labels: Record<string, string>,
      ip: string,
      owner?: { kind: string; name: string; uid: string },
    ) =>
      runningPod(
        core,
        ns,
        {
          metadata: {
            name,
            labels,
            ...(owner ? { ownerReferences: [{ apiVersion: "apps/v1", ...owner, controller: true }] } : {}),
          },
          spec: {
            serviceAccountName: `${name.split("-")[0]}-sa`,
            containers: [
              { name: "app", image: "example.invalid/app", ports: [{ name: "pg", containerPort: 5432 }] },
            ],
          },
        },
        ip,
      );
    webPod = await makePod("web-5f7c-x2x9z", { app: "web", "pod-template-hash": "5f7c" }, WEB_IP, {
      kind: "ReplicaSet",
      name: "web-5f7c",
      uid: rs.metadata?.uid as string,
    });
    await makePod("db-0", { app: "db" }, DB_IP);
    await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: "db" }, spec: { selector: { app: "db" }, ports: [{ port: 5432 }] } },
    });
    await kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
      namespace: ns,
      body: {
        metadata: { name: "db-1", labels: { "kubernetes.io/service-name": "db" } },
        addressType: "IPv4",
        endpoints: [{ addresses: [DB_IP] }],
        ports: [{ port: 5432 }],
      },
    });

    // The processes behind the pods.
    const webNs = box.netns("web");
    const dbNs = box.netns("db");
    box.veth(webNs, dbNs, [WEB_IP, DB_IP], ["fd00:5c:9::1", "fd00:5c:9::2"]);
    await box.workload(dbNs, { title: "slwl-db", listen: [{ proto: "tcp", host: "0.0.0.0", port: 5432 }] });
    const web = await box.workload(webNs, {
      title: "slwl-web",
      connect: [{ proto: "tcp", host: DB_IP, port: 5432 }],
    });
    const uid = webPod.metadata?.uid as string;
    box.podCgroup(uid, web.pid, "e".repeat(64));
  });

  afterAll(async () => {
    await box.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("scan names the pod, its workload and the peer pod", () => {
    const r = runCli([
      "scan",
      "--kubeconfig",
      kubeconfig,
      "-o",
      "ndjson",
      "--pod-uid",
      webPod.metadata?.uid as string,
      "--proto",
      "tcp",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const sockets = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Socket);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]?.pod).toEqual({
      uid: webPod.metadata?.uid,
      name: "web-5f7c-x2x9z",
      namespace: ns,
      serviceAccount: "web-sa",
      workload: { kind: "Deployment", name: "web" },
    });
    expect(sockets[0]?.remote).toEqual({ kind: "pod", namespace: ns, name: "db-0" });
    const table = runCli([
      "scan",
      "--kubeconfig",
      kubeconfig,
      "--pod-uid",
      webPod.metadata?.uid as string,
      "--proto",
      "tcp",
    ]);
    expect(table.stdout).toContain(`${ns}/web-5f7c-x2x9z`);
    expect(table.stdout).toContain(`pod/${ns}/db-0`);
  });

  it("check decides podSelector and service rules with the cluster, and only with it", () => {
    const allowPods = baseline("pods.json", [
      { to: [{ podSelector: { matchLabels: { app: "db" } } }], ports: [{ port: "pg" }] },
    ]);
    const allowService = baseline("service.json", [{ to: [{ service: { name: "db" } }] }]);
    const wrong = baseline("wrong.json", [{ to: [{ podSelector: { matchLabels: { app: "cache" } } }] }]);
    const pod = `${ns}/web-5f7c-x2x9z`;

    for (const file of [allowPods, allowService]) {
      const ok = runCli(["check", "--kubeconfig", kubeconfig, "--pod", pod, "--baseline", file]);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toContain(`scope pod ${pod}`);
    }

    const checkWrong = (format: string) =>
      runCli(["check", "--kubeconfig", kubeconfig, "--pod", pod, "--baseline", wrong, "-o", format]);
    const bad = checkWrong("json");
    expect(bad.code).toBe(1);
    const [finding] = (
      JSON.parse(bad.stdout) as { results: { findings: FindingRecord[] }[] }
    ).results.flatMap((x) => x.findings);
    expect(finding?.rule).toBe("UnexpectedEgress");
    expect(finding?.message).toContain(
      `pod ${pod} connected to ${DB_IP}:5432/TCP (pod ${ns}/db-0) (process slwl-web`,
    );
    // The same finding as an NDJSON line: the pod and its workload, and who the peer is.
    const lines = checkWrong("ndjson");
    expect(lines.code).toBe(1);
    const records = lines.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as FindingRecord);
    expect(records).toEqual([
      {
        rule: "UnexpectedEgress",
        severity: "medium",
        message: finding?.message,
        baseline: `${ns}/web`,
        scope: `pod ${pod}`,
        pod: { namespace: ns, name: "web-5f7c-x2x9z", uid: webPod.metadata?.uid },
        workload: { kind: "Deployment", name: "web" },
        process: "slwl-web",
        pid: expect.any(Number),
        protocol: "TCP",
        direction: "egress",
        peerAddress: DB_IP,
        peerPort: 5432,
        peerIdentity: `pod ${ns}/db-0`,
        state: "ESTABLISHED",
        count: 1,
        netns: expect.any(Number),
        key: `UnexpectedEgress/${DB_IP}/5432/slwl-web`,
      },
    ]);

    const offline = runCli([
      "check",
      "--pod-uid",
      webPod.metadata?.uid as string,
      "--baseline",
      allowPods,
      "-o",
      "json",
    ]);
    expect(offline.code).toBe(1);
    const [undecided] = (
      JSON.parse(offline.stdout) as { results: { findings: FindingRecord[] }[] }
    ).results.flatMap((x) => x.findings);
    expect(undecided?.rule).toBe("CannotEvaluateOffline");
  });

  it("learn --pod names the baseline after the workload and selects by stable labels", () => {
    const out = join(dir, "learned.yaml");
    const r = runCli([
      "learn",
      "--kubeconfig",
      kubeconfig,
      "--pod",
      `${ns}/web-5f7c-x2x9z`,
      "--duration",
      "1s",
      "--interval",
      "1s",
      "-o",
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(text).toContain("name: web\n");
    expect(text).toContain(`namespace: ${ns}\n`);
    expect(text).toMatch(/podSelector:\n\s+matchLabels:\n\s+app: web\n/);
    expect(text).not.toContain("pod-template-hash");
    // The db peer is learned as its workload's selector, not its pod IP (issue 8): a rollout
    // of db changes the IP, not the selector.
    const learned = parse(text.replace(/^#.*\n/gm, "")) as NetworkBaselineInput;
    expect(learned.spec.egress).toContainEqual({
      to: [{ podSelector: { matchLabels: { app: "db" } } }],
      ports: [{ port: 5432, protocol: "TCP" }],
    });
    expect(text).not.toContain(`cidr: ${DB_IP}/32`);
  });

  it("a bad kubeconfig is an input error, not a crash", () => {
    const missing = runCli(["scan", "--kubeconfig", join(dir, "nope.yaml")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--kubeconfig: cannot load/);
    const pod = runCli(["check", "--pod", "a/b", "--baseline", join(dir, "pods.json")]);
    expect(pod.code).toBe(2);
    expect(pod.stderr).toContain("--pod needs cluster knowledge");
  });
});
