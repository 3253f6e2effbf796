/**
 * testcontainers drives the real thing: the locally built agent image (npm run image) and a
 * workload container, created through the engine's Docker API (podman's, here), the agent
 * with the chart's DaemonSet privileges (rendered by the real helm, test/image/chart.ts)
 * against the harness's real API server. The workload sits in a kubelet-shaped cgroup of a
 * Pod object; the agent must attribute its listener to that pod and raise the Event.
 * As in test/image/pods.test.ts, the agent shares the host's network to reach the API server
 * on 127.0.0.1; it authenticates with an admin kubeconfig here (the chart's ServiceAccount
 * and its RBAC are exercised there and in test/cluster/chart.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { adminKubeConfig, createNamespace, uniqueName } from "../test/cluster/env.js";
import { applyCrds, repoCrds, runningPod } from "../test/cluster/kube.js";
import { freePort } from "../test/cluster/process.js";
import { agentDaemonSet, agentSpec, helmTemplate } from "../test/image/chart.js";
import { removeCgroupTree } from "../test/image/podman.js";
import { AGENT_IMAGE } from "./global-setup.js";

const e2e = inject("e2e");
const skip = e2e.skip ?? e2e.agentSkip;
const root = new URL("..", import.meta.url).pathname;
/** The kubelet-shaped cgroups go below a test-named root, removed afterwards. */
const CGROUP_ROOT = `sltest-e2e-${process.pid}`;

/** GenericContainer with the host settings testcontainers has no builder method for. */
class HostContainer extends GenericContainer {
  withHost(settings: { PidMode?: string; ReadonlyRootfs?: boolean; CgroupParent?: string }): this {
    Object.assign(this.hostConfig, settings);
    return this;
  }
}

const WORKLOAD = `
  const net = require("node:net");
  let up = 0;
  for (const p of [18190, 18191]) net.createServer(() => {}).listen(p, "0.0.0.0", () => { if (++up === 2) console.log("ready"); });
  setInterval(() => {}, 1 << 30);`;

describe.skipIf(skip !== undefined)("the agent image through testcontainers", () => {
  let admin: KubeConfig;
  let ns: string;
  let node: string;
  let web: V1Pod;
  let workload: StartedTestContainer | undefined;
  let dir: string;
  let output = "";
  let exitLogs = "";

  beforeAll(async () => {
    admin = adminKubeConfig();
    await applyCrds(admin, await repoCrds(root));
    ns = await createNamespace(admin, "e2e");
    node = uniqueName("sltest-e2e-node");
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNode({ body: { metadata: { name: node, labels: { "socklens.io/test": "true" } } } });
    web = await runningPod(
      core,
      ns,
      {
        metadata: { name: "web-0", labels: { app: "web" } },
        spec: { nodeName: node, containers: [{ name: "app", image: AGENT_IMAGE }] },
      },
      "10.237.0.1",
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
          listeners: [{ port: 18190 }],
          egress: [],
        },
      },
    });
    workload = await new HostContainer(AGENT_IMAGE)
      .withHost({ CgroupParent: `/${CGROUP_ROOT}/kubepods/besteffort/pod${web.metadata?.uid}` })
      .withName(uniqueName(`sltest-e2e-${process.pid}-web`))
      .withNetworkMode("none")
      .withEntrypoint(["node"])
      .withCommand(["-e", WORKLOAD])
      .withWaitStrategy(Wait.forLogMessage("ready"))
      .start();

    dir = mkdtempSync(join(tmpdir(), "sltest-e2e-"));
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, admin.exportConfig(), { mode: 0o644 });
    // Host network (above): a metrics port nothing else listens on (test/image runs alongside).
    const spec = agentSpec(
      agentDaemonSet(await helmTemplate("sl", "socklens-system", [`metrics.port=${await freePort()}`])),
      node,
    );
    const agent = new HostContainer(AGENT_IMAGE)
      .withHost({ PidMode: spec.hostPID ? "host" : "", ReadonlyRootfs: spec.readOnlyRootfs })
      .withName(uniqueName(`sltest-e2e-${process.pid}-agent`))
      .withNetworkMode("host")
      .withDroppedCapabilities(...(spec.capDrop as never[]))
      .withAddedCapabilities(...(spec.capAdd as never[]))
      .withSecurityOpt(...(spec.noNewPrivileges ? ["no-new-privileges"] : []))
      .withUser(spec.user ?? "0")
      .withEnvironment(spec.env)
      .withBindMounts([
        ...spec.mounts.map((m) => ({
          source: m.host,
          target: m.container,
          mode: (m.readOnly ? "ro" : "rw") as "ro" | "rw",
        })),
        { source: kubeconfig, target: "/etc/socklens/kubeconfig", mode: "ro" as const },
      ])
      .withCommand([...spec.args, "--once", "--kubeconfig", "/etc/socklens/kubeconfig"])
      .withWaitStrategy(Wait.forOneShotStartup())
      .withStartupTimeout(120_000);
    const started = await agent.start();
    const logs = await started.logs();
    exitLogs = await new Promise<string>((resolve) => {
      let text = "";
      logs.on("data", (d: Buffer | string) => {
        text += d.toString();
      });
      logs.on("end", () => resolve(text));
      logs.on("error", () => resolve(text));
    });
    output = exitLogs
      .split("\n")
      .filter((l) => l.startsWith('{"findings"') || l.includes('"findings":'))
      .join("");
    await started.stop({ remove: true }).catch(() => {});
  });

  afterAll(async () => {
    await workload?.stop({ remove: true }).catch(() => {});
    removeCgroupTree(CGROUP_ROOT);
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (node)
      await admin
        .makeApiClient(CoreV1Api)
        .deleteNode({ name: node })
        .catch(() => {});
  });

  it("finds the workload's undeclared listener and raises the Event on its pod", async () => {
    expect(output, exitLogs).toContain('"findings":1');
    const events = await admin.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    expect(events.items, exitLogs).toHaveLength(1);
    expect(events.items[0]).toMatchObject({
      type: "Warning",
      regarding: { kind: "Pod", name: "web-0", namespace: ns, uid: web.metadata?.uid },
    });
    expect(events.items[0]?.note).toContain("18191");
  });
});
