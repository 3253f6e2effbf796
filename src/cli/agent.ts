/** `socklens agent`: the node agent (a DaemonSet in a cluster). Wiring only. */
import { hostname } from "node:os";
import { parseDuration } from "../api/v1alpha1/common.js";
import { procPathsFromEnv } from "../procfs/paths.js";
import { kubeConfigFrom, localAddresses } from "./cluster-flags.js";
import { EXIT_OK, InputError, UsageError } from "./errors.js";
import { parseFlags } from "./flags.js";
import type { CliIO } from "./io.js";
import {
  OBSERVABILITY_HELP,
  OBSERVABILITY_OPTIONS,
  observabilityFrom,
  startTelemetry,
} from "./observability.js";
import { parseMasks } from "./options.js";
import { VERSION } from "./version.js";

export const AGENT_HELP = `Usage: socklens agent [--node NAME] [--interval 15s] [--kubeconfig FILE] [--otlp-endpoint URL] [--metrics-port PORT] [--log-level LEVEL] [--once] [--dry-run]

Runs the node agent: every --interval it scans this node's sockets, attributes them to
pods, evaluates them against the NetworkBaselines that select each pod, and reports
findings as Kubernetes Events (aggregated, rate limited) and OpenTelemetry metrics and logs.

  --node NAME            this node's name (default: $NODE_NAME, else the hostname)
  --interval DURATION    time between scans (default 15s)
  --kubeconfig FILE      default: in-cluster config, KUBECONFIG, ~/.kube/config
${OBSERVABILITY_HELP}  --once                 wait for the cluster view, scan once, print the report, exit
  --dry-run              write nothing to the cluster: print each Event and NetworkObservation
                         that would be written as a JSON line on stdout instead
  --sync-timeout DUR     with --once: how long to wait for the first list (default 30s)
  --mask CIDR[,…]        mask these addresses in Events, OTel and observations (also SOCKLENS_MASK)
  --seasonal-namespace NS  keep the seasonal model in ConfigMap socklens-seasonal-<node> there
                         (default: $POD_NAMESPACE; neither: the model lives in memory only)
  --lease-namespace NS   renew the node's liveness Lease socklens-agent-<node> there every 5m
                         (default: $POD_NAMESPACE; neither: no Lease, and unchanged
                         observations are re-written every 15m instead)
  --burst-max N          concurrent burst collections on this node (default 4; 0 turns bursts off)

Bursts: a new finding of severity medium or high on a pod, or the annotation
socklens.io/burst: "5m" on a pod (or on the node), makes the agent scan that pod (every pod)
every second for that long (a finding: 5m), with an Event when it starts and when it ends.

Logs are JSON lines on stderr, each with a level. The proc root comes from HOST_PROC
(default /proc). OpenTelemetry honours the standard OTEL_* variables (docs/telemetry.md).
`;

export const AGENT_OPTIONS = {
  node: { type: "string" },
  interval: { type: "string", default: "15s" },
  kubeconfig: { type: "string" },
  context: { type: "string" },
  ...OBSERVABILITY_OPTIONS,
  once: { type: "boolean" },
  "dry-run": { type: "boolean" },
  "sync-timeout": { type: "string", default: "30s" },
  mask: { type: "string", multiple: true },
  "seasonal-namespace": { type: "string" },
  "lease-namespace": { type: "string" },
  "burst-max": { type: "string", default: "4" },
} as const;

export async function agentCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(args, AGENT_OPTIONS);
  const interval = parseDuration(values.interval);
  if (!interval)
    throw new UsageError(`--interval: "${values.interval}" is not a positive duration such as 15s`);
  const syncTimeout = parseDuration(values["sync-timeout"]);
  if (syncTimeout === null)
    throw new UsageError(`--sync-timeout: "${values["sync-timeout"]}" is not a duration`);
  const burstMax = Number(values["burst-max"]);
  if (!Number.isInteger(burstMax) || burstMax < 0 || burstMax > 64)
    throw new UsageError(`--burst-max: "${values["burst-max"]}" is not a whole number from 0 to 64`);
  const nodeName = values.node ?? io.env.NODE_NAME ?? hostname();
  const seasonalNamespace = values["seasonal-namespace"] ?? io.env.POD_NAMESPACE;
  const leaseNamespace = values["lease-namespace"] ?? io.env.POD_NAMESPACE;
  const masks = parseMasks(values.mask, io.env);
  const obs = observabilityFrom(values, io, { node: nodeName });
  const log = obs.logger.log;

  const { ClusterWatcher } = await import("../kube/watcher.js");
  const { EventRecorder } = await import("../kube/events.js");
  const { Agent } = await import("../agent/agent.js");
  const { ObservationWriter } = await import("../kube/observations.js");
  const kc = await kubeConfigFrom(values);
  const telemetry = await startTelemetry(obs, "socklens-agent", {
    nodeName,
    podName: io.env.POD_NAME,
    namespace: io.env.POD_NAMESPACE,
  });
  telemetry?.agentInstruments();
  const watcher = new ClusterWatcher(kc, localAddresses(), {
    nodeName,
    onError: (kind, message) => {
      log("watch failed, retrying", { level: "warn", kind, error: message });
      telemetry?.kubeError(kind, "watch");
    },
  });
  // --dry-run: the same Events (series and rate limit included) and observations, printed
  // instead of written; reading the cluster is unchanged, so what is printed is what the
  // agent would write from this node right now.
  const dryRun = values["dry-run"] === true;
  const print = (line: Record<string, unknown>) => io.out(`${JSON.stringify(line)}\n`);
  const recorder = new EventRecorder(kc, {
    controller: "socklens.io/agent",
    instance: `socklens-agent-${nodeName}`,
    ...(dryRun
      ? {
          dryRun: (w) =>
            w.verb === "create"
              ? print({ dryRun: "create", object: w.event })
              : print({
                  dryRun: "patch",
                  object: {
                    apiVersion: "events.k8s.io/v1",
                    kind: "Event",
                    metadata: { name: w.name, namespace: w.namespace },
                  },
                  series: w.series,
                }),
        }
      : {}),
  });
  // A rejected write (a 422 from a schema mismatch, a 403 from RBAC) is logged once per kind.
  const observations = new ObservationWriter(kc, {
    log,
    ...(dryRun ? { dryRun: (object) => print({ dryRun: "apply", object }) } : {}),
  });
  telemetry?.kubeErrorsFrom(() => [
    { resource: "events", operation: "write", count: recorder.stats.failed },
    { resource: "networkobservations", operation: "write", count: observations.stats.failed },
  ]);
  const seasonalStore = seasonalNamespace
    ? new (await import("../agent/seasonal-store.js")).ConfigMapSeasonalStore(
        kc,
        seasonalNamespace,
        nodeName,
        log,
      )
    : undefined;
  // The node's liveness Lease: not for --once (one scan, no loop to renew it) nor --dry-run
  // (writes nothing). Without it the agent re-writes unchanged observations as heartbeats.
  const lease =
    leaseNamespace && !values.once && !dryRun
      ? new (await import("../kube/node-lease.js")).NodeLease(kc, {
          namespace: leaseNamespace,
          nodeName,
          log,
        })
      : undefined;
  const agent = new Agent({
    nodeName,
    ...(lease ? { lease } : {}),
    watcher,
    recorder,
    observations,
    masks,
    // --once writes what it saw; the loop every 30 s.
    ...(values.once ? { observationIntervalMs: 0 } : {}),
    ...(telemetry ? { telemetry } : {}),
    paths: procPathsFromEnv(io.env),
    log,
    burst: { maxConcurrent: burstMax },
    ...(seasonalStore ? { seasonal: { store: seasonalStore } } : {}),
  });
  log("agent started", {
    version: VERSION,
    interval: values.interval,
    otlp: obs.otlp
      ? `${obs.otlp.endpoint} (${obs.otlp.metrics?.protocol ?? obs.otlp.logs?.protocol})`
      : "off",
    metricsPort: obs.metricsPort ?? "off",
    ...(dryRun ? { dryRun: "nothing is written to the cluster" } : {}),
    seasonalModel: seasonalStore ? `${seasonalNamespace}/${seasonalStore.name}` : "memory only",
    nodeLease: lease ? `${leaseNamespace}/${lease.name}` : "none (observations re-written every 15m)",
    server: kc.getCurrentCluster()?.server,
  });

  let server: { port: number; stop(): Promise<void> } | undefined;
  try {
    if (values.once) {
      const deadline = Date.now() + syncTimeout;
      while (!watcher.synced && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (!watcher.synced)
        throw new InputError(
          `no cluster view after ${values["sync-timeout"]}: ${JSON.stringify(watcher.status().filter((s) => !s.synced))}`,
        );
      const report = await agent.cycle();
      io.out(
        `${JSON.stringify({ ...report, ...(dryRun ? { dryRun: true } : {}), events: recorder.stats, observations: observations.stats })}\n`,
      );
      return EXIT_OK;
    }
    if (obs.metricsPort !== undefined) {
      const { HealthServer } = await import("../telemetry/server.js");
      server = await HealthServer.start({
        port: obs.metricsPort,
        notReady: () => (watcher.synced ? undefined : "waiting for the first list of pods and baselines"),
        metrics: telemetry?.prometheusHandler,
      });
      log("serving /metrics, /healthz, /readyz", { port: server.port });
    }
    const controller = new AbortController();
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => controller.abort());
    lease?.start();
    await agent.run(interval, controller.signal);
    log("agent stopping");
    return EXIT_OK;
  } finally {
    await lease?.stop();
    await server?.stop();
    await watcher.stop();
    await telemetry?.shutdown();
  }
}
