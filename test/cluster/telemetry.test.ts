/**
 * The agent's telemetry as its users meet it: the real `socklens agent` process, configured
 * only through the standard OTEL_* variables, exporting to the real OpenTelemetry Collector
 * over OTLP HTTP/protobuf and gRPC; every attribute name the collector received checked
 * against @opentelemetry/semantic-conventions; the collector killed and restarted under a
 * running agent (one line when export starts failing, one when it recovers); and the
 * agent's /metrics, /healthz and /readyz.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import * as semconv from "@opentelemetry/semantic-conventions";
import * as incubating from "@opentelemetry/semantic-conventions/incubating";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTestsUnavailable, REPO, runCli, Sandbox } from "../host/sandbox.js";
import { type Attributes, Collector, type Received } from "./collector.js";
import { adminKubeConfig, clusterContext, createNamespace } from "./env.js";
import { applyCrds, repoCrds, runningPod } from "./kube.js";
import { freePort, ManagedProcess, waitFor } from "./process.js";

const unavailable = hostTestsUnavailable("telemetry.test.ts");
const NODE = `sl-tel-${process.pid}`;
const run = randomUUID();

/** Every attribute and metric name the semantic-conventions package exports (stable and incubating). */
function conventionNames(prefix: "ATTR_" | "METRIC_"): Set<string> {
  const out = new Set<string>();
  for (const mod of [semconv, incubating] as Record<string, unknown>[])
    for (const [k, v] of Object.entries(mod)) if (k.startsWith(prefix) && typeof v === "string") out.add(v);
  return out;
}

/** Names that are neither a convention nor ours (`socklens.`), with where they were seen. */
function unconventional(r: Received): string[] {
  const attrs = conventionNames("ATTR_");
  const metricNames = conventionNames("METRIC_");
  const bad = new Set<string>();
  const check = (where: string, a: Attributes) => {
    for (const k of Object.keys(a))
      if (!attrs.has(k) && !k.startsWith("socklens.")) bad.add(`${where}: ${k}`);
  };
  for (const m of r.metrics) {
    if (!metricNames.has(m.name) && !m.name.startsWith("socklens.")) bad.add(`metric name: ${m.name}`);
    check("resource", m.resource);
    for (const p of m.dataPoints) check(`metric ${m.name}`, p.attributes);
  }
  for (const l of r.logs) {
    check("resource", l.resource);
    check(`log ${l.eventName}`, l.attributes);
  }
  return [...bad].sort();
}

describe.skipIf(unavailable !== null)("the agent's telemetry", () => {
  const box = new Sandbox();
  let kc: KubeConfig;
  let ns: string;
  let collector: Collector;
  let dir: string;

  beforeAll(async () => {
    kc = adminKubeConfig();
    await applyCrds(kc, await repoCrds(REPO));
    ns = await createNamespace(kc, "telemetry");
    const core = kc.makeApiClient(CoreV1Api);
    const pod = await runningPod(
      core,
      ns,
      {
        metadata: { name: "web-0", labels: { app: "web" } },
        spec: { nodeName: NODE, containers: [{ name: "app", image: "example.invalid/web" }] },
      },
      "10.235.0.1",
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
    const webNs = box.netns("tweb");
    const peerNs = box.netns("tpeer");
    box.veth(webNs, peerNs, ["10.235.0.1", "10.235.0.2"], ["fd00:5c:b::1", "fd00:5c:b::2"]);
    await box.workload(peerNs, {
      title: "slwl-tpeer",
      listen: [{ proto: "tcp", host: "0.0.0.0", port: 4444 }],
    });
    const web = await box.workload(webNs, {
      title: "slwl-tweb",
      listen: [{ proto: "tcp", host: "0.0.0.0", port: 8080 }],
      connect: [{ proto: "tcp", host: "10.235.0.2", port: 4444 }],
    });
    box.podCgroup(pod.metadata?.uid as string, web.pid, "b".repeat(64));
    collector = await Collector.start();
    dir = await mkdtemp(join(tmpdir(), "socklens-telemetry-"));
  });

  afterAll(async () => {
    await collector?.stop();
    await box.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const agentOnce = (env: Record<string, string>) =>
    runCli(["agent", "--once", "--kubeconfig", clusterContext().kubeconfig, "--node", NODE], {
      env: { OTEL_METRIC_EXPORT_INTERVAL: "60000", ...env },
    });

  it("exports over OTLP http/protobuf (the default) with the downward API's names on the resource", async () => {
    const r = agentOnce({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.httpEndpoint,
      POD_NAME: "socklens-agent-abcde",
      POD_NAMESPACE: "socklens-system",
      OTEL_RESOURCE_ATTRIBUTES: `socklens.test.run=${run},socklens.test.protocol=http`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ findings: 1 });
    expect(r.stderr).toContain(`(http/protobuf)`);
    const mine = (x: { resource: Attributes }) =>
      x.resource["socklens.test.run"] === run && x.resource["socklens.test.protocol"] === "http";
    const started = await collector.waitFor("socklens.violation.started over http/protobuf", (got) =>
      got.metrics.find((m) => m.name === "socklens.violation.started" && mine(m)),
    );
    expect(started.resource).toMatchObject({
      "service.name": "socklens-agent",
      "k8s.node.name": NODE,
      "k8s.pod.name": "socklens-agent-abcde",
      "k8s.namespace.name": "socklens-system",
    });
    expect(started.dataPoints).toEqual([
      {
        attributes: {
          "k8s.namespace.name": ns,
          "k8s.pod.name": "web-0",
          "socklens.rule": "UnexpectedEgress",
          "socklens.baseline": `${ns}/web`,
          "socklens.severity": "medium",
        },
        value: 1,
      },
    ]);
    const log = await collector.waitFor("the violation log over http/protobuf", (got) =>
      got.logs.find((l) => l.eventName === "socklens.violation" && mine(l)),
    );
    expect(log.attributes).toMatchObject({
      "network.peer.port": 4444,
      "socklens.connection.direction": "egress",
    });
  });

  it("exports over OTLP gRPC when OTEL_EXPORTER_OTLP_PROTOCOL=grpc; OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME win", async () => {
    const r = agentOnce({
      // The gRPC port: an HTTP exporter sending here would fail and nothing would arrive.
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.grpcEndpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_SERVICE_NAME: "socklens-agent-grpc",
      POD_NAME: "from-downward-api",
      OTEL_RESOURCE_ATTRIBUTES: `k8s.pod.name=from-otel-env,socklens.test.run=${run},socklens.test.protocol=grpc`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`(grpc)`);
    expect(r.stderr).not.toContain("OTLP export failing");
    const mine = (x: { resource: Attributes }) =>
      x.resource["socklens.test.run"] === run && x.resource["socklens.test.protocol"] === "grpc";
    const m = await collector.waitFor("metrics over gRPC", (got) =>
      got.metrics.find((x) => x.name === "socklens.violation.active" && mine(x)),
    );
    expect(m.resource).toMatchObject({
      "service.name": "socklens-agent-grpc",
      "k8s.pod.name": "from-otel-env",
    });
    expect(m.dataPoints.map((p) => p.value)).toEqual([1]);
    await collector.waitFor("the violation log over gRPC", (got) =>
      got.logs.find((l) => l.eventName === "socklens.violation" && mine(l)),
    );
  });

  it("names every attribute and metric it exports as the semantic conventions do, or under socklens.", async () => {
    const got = await collector.received();
    // Both runs above and their whole payloads: resource, metric points, log records.
    expect(got.metrics.filter((m) => m.resource["socklens.test.run"] === run).length).toBeGreaterThan(5);
    expect(got.logs.filter((l) => l.resource["socklens.test.run"] === run)).toHaveLength(2);
    const resourceNames = new Set([...got.metrics, ...got.logs].flatMap((x) => Object.keys(x.resource)));
    const recordNames = new Set([
      ...got.metrics.flatMap((m) => m.dataPoints.flatMap((p) => Object.keys(p.attributes))),
      ...got.logs.flatMap((l) => Object.keys(l.attributes)),
    ]);
    // The ones the issue was about are there, with their convention names.
    for (const n of [
      "network.peer.port",
      "network.connection.state",
      "process.pid",
      "server.port",
      "k8s.pod.name",
    ])
      expect(recordNames).toContain(n);
    for (const n of ["k8s.node.name", "k8s.pod.name", "k8s.namespace.name", "service.name"])
      expect(resourceNames).toContain(n);
    // process.executable.name is on the resource (the SDK's process detector: the agent's own
    // executable, "node"); on a record it would claim a comm is an executable's name.
    for (const n of [
      "network.io.direction",
      "k8s.workload.name",
      "process.executable.name",
      "threat.technique.id",
    ])
      expect(recordNames).not.toContain(n);
    expect(unconventional(got)).toEqual([]);
  });

  it("logs one line when OTLP export starts failing and one when it recovers (the collector killed and restarted)", async () => {
    const logFile = join(dir, "agent.log");
    // ManagedProcess passes on the test's environment: the SDK's own variable sets the
    // agent's export interval to 1 s.
    process.env.OTEL_METRIC_EXPORT_INTERVAL = "1000";
    const agent = new ManagedProcess(
      "socklens-agent",
      process.execPath,
      [
        join(REPO, "bin", "socklens.js"),
        "agent",
        "--kubeconfig",
        clusterContext().kubeconfig,
        "--node",
        NODE,
        "--interval",
        "1s",
        "--otlp-endpoint",
        collector.httpEndpoint,
      ],
      logFile,
    );
    delete process.env.OTEL_METRIC_EXPORT_INTERVAL;
    const lines = () =>
      readFileSync(logFile, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { level: string; msg: string; signal?: string });
    try {
      await waitFor("two scans", async () => lines().filter((l) => l.msg === "scan").length >= 2, {
        timeoutMs: 30_000,
        procs: [agent],
      });
      expect(lines().every((l) => ["debug", "info", "warn", "error"].includes(l.level))).toBe(true);
      await collector.kill();
      await waitFor("the failing line", async () => lines().some((l) => l.msg === "OTLP export failing"), {
        timeoutMs: 30_000,
        procs: [agent],
        describe: () => agent.tail(),
      });
      // Several more export intervals pass while it is down: still one line.
      await waitFor(
        "three more scans",
        async () => {
          const l = lines();
          const failedAt = l.findIndex((x) => x.msg === "OTLP export failing");
          return l.slice(failedAt).filter((x) => x.msg === "scan").length >= 4;
        },
        { timeoutMs: 30_000, procs: [agent] },
      );
      await collector.restart();
      await waitFor(
        "the recovered line",
        async () => lines().some((l) => l.msg === "OTLP export recovered"),
        {
          timeoutMs: 30_000,
          procs: [agent],
          describe: () => agent.tail(),
        },
      );
      const about = lines().filter((l) => l.msg.startsWith("OTLP export"));
      expect(about.map((l) => [l.level, l.msg, l.signal])).toEqual([
        ["warn", "OTLP export failing", "metrics"],
        ["info", "OTLP export recovered", "metrics"],
      ]);
    } finally {
      await agent.stop();
    }
  });
});
