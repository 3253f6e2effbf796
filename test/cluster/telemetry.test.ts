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
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import * as semconv from "@opentelemetry/semantic-conventions";
import * as incubating from "@opentelemetry/semantic-conventions/incubating";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTestsUnavailable, ip, REPO, runCli, Sandbox, type Workload } from "../host/sandbox.js";
import { type Attributes, Collector, type Received } from "./collector.js";
import { adminKubeConfig, clusterContext, createNamespace } from "./env.js";
import { applyCrds, repoCrds, runningPod } from "./kube.js";
import { freePort, ManagedProcess, waitFor } from "./process.js";
import { Prometheus } from "./prometheus.js";

const unavailable = hostTestsUnavailable("telemetry.test.ts");
const NODE = `sl-tel-${process.pid}`;
const run = randomUUID();
/** An address whose SYNs vanish (routed into the peer namespace, which does not forward). */
const DARK = "203.0.113.19";

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
  // Filled in beforeAll; the nested Prometheus suite opens more sockets through them.
  const workloads = {} as { web: Workload; peer: Workload };

  beforeAll(async () => {
    kc = adminKubeConfig();
    await applyCrds(kc, await repoCrds(REPO));
    ns = await createNamespace(kc, "telemetry");
    const core = kc.makeApiClient(CoreV1Api);
    // The pod's owners, as a Deployment's pod has them (no controller runs here: plain objects).
    const apps = kc.makeApiClient(AppsV1Api);
    const template = {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "app", image: "example.invalid/web" }] },
    };
    const deployment = await apps.createNamespacedDeployment({
      namespace: ns,
      body: { metadata: { name: "web" }, spec: { selector: { matchLabels: { app: "web" } }, template } },
    });
    const rs = await apps.createNamespacedReplicaSet({
      namespace: ns,
      body: {
        metadata: {
          name: "web-5d8f7",
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "Deployment",
              name: "web",
              uid: deployment.metadata?.uid as string,
              controller: true,
            },
          ],
        },
        spec: { selector: { matchLabels: { app: "web" } }, template },
      },
    });
    const pod = await runningPod(
      core,
      ns,
      {
        metadata: {
          name: "web-0",
          labels: { app: "web" },
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "ReplicaSet",
              name: "web-5d8f7",
              uid: rs.metadata?.uid as string,
              controller: true,
            },
          ],
        },
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
    // SYNs to DARK go to the peer namespace and vanish there (a blackhole route: no ICMP
    // answer), so the web pod's connects stay in SYN_SENT.
    ip("-n", peerNs, "route", "add", "blackhole", `${DARK}/32`);
    ip("-n", webNs, "route", "add", `${DARK}/32`, "via", "10.235.0.2");
    workloads.peer = await box.workload(peerNs, {
      title: "slwl-tpeer",
      listen: [{ proto: "tcp", host: "0.0.0.0", port: 4444 }],
    });
    workloads.web = await box.workload(webNs, {
      title: "slwl-tweb",
      // halfOpen: what a client closes stays in CLOSE_WAIT here (the dashboard test's leak).
      listen: [{ proto: "tcp", host: "0.0.0.0", port: 8080, halfOpen: true }],
      connect: [{ proto: "tcp", host: "10.235.0.2", port: 4444 }],
    });
    box.podCgroup(pod.metadata?.uid as string, workloads.web.pid, "b".repeat(64));
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
          "k8s.deployment.name": "web",
          "socklens.workload.kind": "Deployment",
          "socklens.workload.name": "web",
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
      // One line per exporter (signal) as it starts failing and one as it recovers. Metrics
      // export every second, so theirs must show both; logs export only when there is a log
      // record to send (a finding), so theirs may fail and not yet have recovered.
      const about = lines().filter((l) => l.msg.startsWith("OTLP export"));
      const ofSignal = (signal: string) =>
        about.filter((l) => l.signal === signal).map((l) => [l.level, l.msg]);
      expect(ofSignal("metrics")).toEqual([
        ["warn", "OTLP export failing"],
        ["info", "OTLP export recovered"],
      ]);
      expect([
        [],
        [["warn", "OTLP export failing"]],
        [
          ["warn", "OTLP export failing"],
          ["info", "OTLP export recovered"],
        ],
      ]).toContainEqual(ofSignal("logs"));
      expect(about.every((l) => l.signal === "metrics" || l.signal === "logs")).toBe(true);
    } finally {
      await agent.stop();
    }
  });

  describe("Prometheus", () => {
    let agent: ManagedProcess;
    let prometheus: Prometheus;
    let metricsPort: number;

    beforeAll(async () => {
      // What the dashboard shows, made real in the web pod: CLOSE_WAIT (the peer closes, the
      // half-open server does not), SYN_SENT (SYNs into the dark), TIME_WAIT (we close first).
      await workloads.peer.more({
        connect: [{ proto: "tcp", host: "10.235.0.1", port: 8080, count: 2, close: true }],
      });
      await workloads.web.more({
        dial: [{ host: DARK, port: 7000, count: 2 }],
        short: { host: "10.235.0.2", port: 4444, count: 3 },
      });
      metricsPort = await freePort();
      agent = new ManagedProcess(
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
          "--metrics-port",
          String(metricsPort),
        ],
        join(dir, "agent-prometheus.log"),
      );
      prometheus = await Prometheus.start([`127.0.0.1:${metricsPort}`]);
    });

    afterAll(async () => {
      await agent?.stop();
      await prometheus?.stop();
    });

    it("serves /healthz, /readyz once synced, and /metrics that the real Prometheus scrapes", async () => {
      const base = `http://127.0.0.1:${metricsPort}`;
      await waitFor(
        "/healthz",
        async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200,
        {
          timeoutMs: 30_000,
          procs: [agent],
          describe: () => agent.tail(),
        },
      );
      await waitFor("/readyz 200", async () => (await fetch(`${base}/readyz`)).status === 200, {
        timeoutMs: 30_000,
        procs: [agent],
      });
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      // The gauges have points once the first scan is over.
      const names = [
        "socklens_violation_active",
        "socklens_sockets",
        "process_cpu_time_total",
        "process_memory_usage",
      ];
      await waitFor(
        "the first scan's metrics on /metrics",
        async () => {
          const text = await (await fetch(`${base}/metrics`)).text();
          return names.every((n) => text.includes(`# TYPE ${n} `));
        },
        { timeoutMs: 30_000, procs: [agent], describe: () => agent.tail() },
      );
      await waitFor(
        "Prometheus to scrape the agent",
        async () => (await prometheus.query('up{job="socklens"} == 1')).length === 1,
        { timeoutMs: 30_000, describe: () => `${JSON.stringify(prometheus.targets())}\n${prometheus.log()}` },
      );
      const active = await waitFor(
        "socklens_violation_active in Prometheus",
        async () =>
          (await prometheus.query(`socklens_violation_active{k8s_namespace_name="${ns}"}`)).length > 0,
        { timeoutMs: 30_000, describe: () => agent.tail() },
      ).then(() =>
        prometheus.query(
          `socklens_violation_active{k8s_namespace_name="${ns}", socklens_rule="UnexpectedEgress"}`,
        ),
      );
      expect(active[0]?.metric).toMatchObject({
        k8s_pod_name: "web-0",
        k8s_deployment_name: "web",
        socklens_workload_name: "web",
      });
    });

    it("answers every query of the chart's Grafana dashboard, naming only metrics the agent exports", async () => {
      const dashboard = JSON.parse(
        readFileSync(join(REPO, "charts/socklens/dashboards/socklens.json"), "utf8"),
      ) as {
        panels: { title: string; targets: { expr: string }[] }[];
      };
      const exported = new Set(
        [
          ...(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).matchAll(
            /^# TYPE (\S+) (\S+)$/gm,
          ),
        ].flatMap(([, name, type]) =>
          type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name as string],
        ),
      );
      // Grafana's variables, as Grafana would fill them in: all namespaces, a 1-minute window.
      const grafana = (expr: string) =>
        expr.replaceAll("$__rate_interval", "1m").replaceAll('=~"$namespace"', '=~".*"');
      const queries = dashboard.panels.flatMap((p) =>
        p.targets.map((t) => ({ panel: p.title, expr: grafana(t.expr) })),
      );
      expect(queries.length).toBeGreaterThanOrEqual(9);
      // rate() and increase() need two samples of each series, histogram_quantile a change.
      await new Promise((r) => setTimeout(r, 5_000));
      const problems: string[] = [];
      for (const q of queries) {
        // Metric names: what is left once label lists (by/without) and selectors are taken out.
        const bare = q.expr.replace(/\b(by|without)\s*\([^)]*\)/g, "").replace(/\{[^}]*\}/g, "");
        const names = [...bare.matchAll(/\b((?:socklens|process)_[a-z_]+)\b/g)].map((m) => m[1] as string);
        for (const n of names)
          if (!exported.has(n)) problems.push(`${q.panel}: ${n} is not a metric the agent exports`);
        if (names.length === 0) problems.push(`${q.panel}: names no socklens metric: ${q.expr}`);
        let result: Awaited<ReturnType<Prometheus["query"]>> = [];
        await waitFor(
          q.panel,
          async () => {
            result = await prometheus.query(q.expr);
            return result.length > 0;
          },
          { timeoutMs: 20_000 },
        ).catch(() => problems.push(`${q.panel}: no data for ${q.expr}`));
        if (q.panel.startsWith("Top workloads"))
          expect(
            result.map((s) => s.metric.socklens_workload_name),
            q.panel,
          ).toContain("web");
      }
      expect(problems).toEqual([]);
    });
  });
});
