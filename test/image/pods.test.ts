/**
 * Real containers as pods: workload containers started by podman + runc under a
 * kubelet-shaped cgroup parent (…/kubepods/besteffort/pod<uid>, the cgroupfs driver's shape,
 * below a test-named root as a nested kubelet's is),
 * matching Pod objects in the real API server of the harness, and the agent image run with
 * the chart's DaemonSet privileges (./chart.ts) and the chart's own ServiceAccount, through
 * the in-cluster config (a pod-bound token mounted where a kubelet puts it). The agent must
 * attribute the containers' sockets to those pods, evaluate the NetworkBaseline that selects
 * them and write the Warning Event and the NetworkObservation.
 *
 * One deviation from a kubelet, and why: the harness's API server listens on 127.0.0.1, so
 * the agent container shares the host's network namespace (--network=host) to reach it
 * (a pod reaches the API server through the kubernetes Service instead). The agent reads
 * sockets through /host/proc either way; its own namespace is not what it reports on.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceAccountKubeConfig } from "../cluster/controlplane.js";
import { adminKubeConfig, createNamespace, uniqueName } from "../cluster/env.js";
import { apply, applyCrds, parseManifests, repoCrds, runningPod } from "../cluster/kube.js";
import { freePort } from "../cluster/process.js";
import { agentDaemonSet, helmTemplate, podmanForAgent } from "./chart.js";
import { IMAGE, imageUnavailable, Podman, startWorkload } from "./podman.js";

const unavailable = imageUnavailable();
if (unavailable) process.stderr.write(`[image] SKIPPED pods.test.ts: ${unavailable}\n`);
const root = fileURLToPath(new URL("../..", import.meta.url));
const POLICY_KINDS = new Set([
  "ServiceAccount",
  "ClusterRole",
  "ClusterRoleBinding",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
]);

describe.skipIf(unavailable !== null)("the agent image on real containers as pods", () => {
  const podman = new Podman();
  let admin: KubeConfig;
  let ns: string;
  let node: string;
  let web: V1Pod;
  let container: { name: string; id: string; pid: number };
  let secrets: string;
  let report: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    admin = adminKubeConfig();
    await applyCrds(admin, await repoCrds(root));
    ns = await createNamespace(admin, "img");
    const release = uniqueName("img");
    // The agent shares the host's network here: its metrics port must be one nothing else
    // (the e2e suite's agent, run alongside) listens on.
    const rendered = await helmTemplate(release, ns, [`metrics.port=${await freePort()}`]);
    await apply(
      admin,
      parseManifests(rendered).filter((o) => POLICY_KINDS.has(o.kind ?? "")),
    );
    const core = admin.makeApiClient(CoreV1Api);
    node = uniqueName("sltest-img-node");
    await core.createNode({ body: { metadata: { name: node, labels: { "socklens.io/test": "true" } } } });

    web = await runningPod(
      core,
      ns,
      {
        metadata: { name: "web-0", labels: { app: "web" } },
        spec: { nodeName: node, containers: [{ name: "app", image: IMAGE }] },
      },
      "10.236.0.1",
    );
    await admin.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
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
          // 18090 is declared; the workload also listens on 18091, which is not.
          listeners: [{ port: 18090 }],
          egress: [{ to: [{ ipBlock: { cidr: "127.0.0.0/8" } }], ports: [{ port: 18090 }] }],
        },
      },
    });
    // The container the kubelet would have made for that pod: its own netns from the
    // runtime, in the pod's cgroup (cgroupfs driver: …/kubepods/<qos>/pod<uid>/<runtime>-<id>).
    container = await startWorkload(podman, "web", {
      listen: [18090, 18091],
      cgroupParent: podman.podCgroupParent(web.metadata?.uid ?? ""),
    });

    // The agent's own pod on that node, and the token a kubelet would mount for it.
    const agentPod = await runningPod(
      core,
      ns,
      {
        metadata: { name: "agent-0", labels: { "app.kubernetes.io/component": "agent" } },
        spec: {
          nodeName: node,
          serviceAccountName: `${release}-socklens`,
          containers: [{ name: "agent", image: IMAGE }],
        },
      },
      "10.236.0.2",
    );
    const sa = await serviceAccountKubeConfig(admin, ns, `${release}-socklens`, {
      boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "agent-0", uid: agentPod.metadata?.uid ?? "" },
    });
    const cluster = admin.getCurrentCluster();
    const token = sa.getCurrentUser()?.token;
    if (!cluster?.caData || !token)
      throw new Error("the harness kubeconfig has no CA data or the token request failed");
    secrets = mkdtempSync(join(tmpdir(), "sltest-img-sa-"));
    writeFileSync(join(secrets, "token"), token);
    writeFileSync(join(secrets, "ca.crt"), Buffer.from(cluster.caData, "base64"));
    writeFileSync(join(secrets, "namespace"), ns);
    const server = new URL(cluster.server);

    const agent = podmanForAgent(agentDaemonSet(rendered), node);
    report = await podman.runOnce([
      ...agent.flags,
      "--network=host",
      "-v",
      `${secrets}:/var/run/secrets/kubernetes.io/serviceaccount:ro`,
      "-e",
      `KUBERNETES_SERVICE_HOST=${server.hostname}`,
      "-e",
      `KUBERNETES_SERVICE_PORT=${server.port}`,
      IMAGE,
      ...agent.args,
      "--once",
    ]);
  });

  afterAll(async () => {
    podman.cleanup();
    if (secrets) rmSync(secrets, { recursive: true, force: true });
    if (node)
      await admin
        .makeApiClient(CoreV1Api)
        .deleteNode({ name: node })
        .catch(() => {});
  });

  it("runs the agent in its container against the API server with the chart's ServiceAccount", () => {
    expect(report.code, report.stderr).toBe(0);
    expect(report.stderr).not.toContain("watch failed");
    expect(report.stderr).not.toContain("permission denied");
    expect(JSON.parse(report.stdout)).toMatchObject({ findings: 1, events: { failed: 0 } });
  });

  it("writes the Warning Event on the pod whose container holds the undeclared listener", async () => {
    const events = await admin.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    const notes = events.items.map((x) => `${x.reason}: ${x.note}`).join("\n");
    expect(events.items, notes).toHaveLength(1);
    const e = events.items[0];
    expect(e).toMatchObject({
      type: "Warning",
      reportingController: "socklens.io/agent",
      regarding: { kind: "Pod", name: "web-0", namespace: ns, uid: web.metadata?.uid },
    });
    // The pid in the note is the container's process as the host sees it.
    expect(e?.note).toContain(`pid ${container.pid}`);
    expect(e?.note).toContain("18091");
  });

  it("attributes the container's sockets to its pod in the NetworkObservation", async () => {
    const list = (await admin.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
      group: "socklens.io",
      version: "v1alpha1",
      plural: "networkobservations",
      namespace: ns,
    })) as { items: { spec: Record<string, unknown> }[] };
    expect(list.items, report.stderr).toHaveLength(1);
    const text = JSON.stringify(list.items[0]?.spec);
    expect(list.items[0]?.spec).toMatchObject({ nodeName: node });
    expect(text).toContain("web-0");
    expect(text).toContain("18091");
  });
});
