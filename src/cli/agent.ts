/** `socklens agent`: the node agent (a DaemonSet in a cluster). Wiring only. */
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { parseDuration } from "../api/v1alpha1/common.js";
import { procPathsFromEnv } from "../procfs/paths.js";
import { kubeConfigFrom, localAddresses } from "./cluster-flags.js";
import { EXIT_OK, InputError, UsageError } from "./errors.js";
import type { CliIO } from "./io.js";
import { parseMasks } from "./options.js";
import { VERSION } from "./version.js";

export const AGENT_HELP = `Usage: socklens agent [--node NAME] [--interval 15s] [--kubeconfig FILE] [--otlp-endpoint URL] [--once]

Runs the node agent: every --interval it scans this node's sockets, attributes them to
pods, evaluates them against the NetworkBaselines that select each pod, and reports
findings as Kubernetes Events (aggregated, rate limited) and OpenTelemetry metrics and logs.

  --node NAME            this node's name (default: $NODE_NAME, else the hostname)
  --interval DURATION    time between scans (default 15s)
  --kubeconfig FILE      default: in-cluster config, KUBECONFIG, ~/.kube/config
  --otlp-endpoint URL    OTLP/HTTP base URL (default: $OTEL_EXPORTER_OTLP_ENDPOINT; none: no OTel export)
  --once                 wait for the cluster view, scan once, print the report, exit
  --sync-timeout DUR     with --once: how long to wait for the first list (default 30s)
  --mask CIDR[,…]        mask these addresses in Events, OTel and observations (also SOCKLENS_MASK)
  --seasonal-namespace NS  keep the seasonal model in ConfigMap socklens-seasonal-<node> there
                         (default: $POD_NAMESPACE; neither: the model lives in memory only)
  --burst-max N          concurrent burst collections on this node (default 4; 0 turns bursts off)

Bursts: a new finding of severity medium or high on a pod, or the annotation
socklens.io/burst: "5m" on a pod (or on the node), makes the agent scan that pod (every pod)
every second for that long (a finding: 5m), with an Event when it starts and when it ends.

Logs are JSON lines on stderr. The proc root comes from HOST_PROC (default /proc).
`;

export async function agentCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      node: { type: "string" },
      interval: { type: "string", default: "15s" },
      kubeconfig: { type: "string" },
      context: { type: "string" },
      "otlp-endpoint": { type: "string" },
      once: { type: "boolean" },
      "sync-timeout": { type: "string", default: "30s" },
      mask: { type: "string", multiple: true },
      "seasonal-namespace": { type: "string" },
      "burst-max": { type: "string", default: "4" },
    },
    strict: true,
  });
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
  const masks = parseMasks(values.mask, io.env);
  const endpoint = values["otlp-endpoint"] ?? io.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const log = (message: string, fields: Record<string, unknown> = {}) =>
    io.err(
      `${JSON.stringify({ time: new Date().toISOString(), level: "info", msg: message, node: nodeName, ...fields })}\n`,
    );

  const { ClusterWatcher } = await import("../kube/watcher.js");
  const { EventRecorder } = await import("../kube/events.js");
  const { Agent } = await import("../agent/agent.js");
  const { ObservationWriter } = await import("../kube/observations.js");
  const kc = await kubeConfigFrom(values);
  const watcher = new ClusterWatcher(kc, localAddresses(), {
    nodeName,
    onError: (kind, message) => log("watch failed, retrying", { kind, error: message }),
  });
  const telemetry = endpoint
    ? new (await import("../telemetry/otel.js")).Telemetry({ endpoint, nodeName, version: VERSION })
    : undefined;
  const recorder = new EventRecorder(kc, {
    controller: "socklens.io/agent",
    instance: `socklens-agent-${nodeName}`,
  });
  // A rejected write (a 422 from a schema mismatch, a 403 from RBAC) is logged once per kind.
  const observations = new ObservationWriter(kc, { log });
  const seasonalStore = seasonalNamespace
    ? new (await import("../agent/seasonal-store.js")).ConfigMapSeasonalStore(
        kc,
        seasonalNamespace,
        nodeName,
        log,
      )
    : undefined;
  const agent = new Agent({
    nodeName,
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
    otlp: endpoint ?? "off",
    seasonalModel: seasonalStore ? `${seasonalNamespace}/${seasonalStore.name}` : "memory only",
    server: kc.getCurrentCluster()?.server,
  });

  try {
    if (values.once) {
      const deadline = Date.now() + syncTimeout;
      while (!watcher.synced && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (!watcher.synced)
        throw new InputError(
          `no cluster view after ${values["sync-timeout"]}: ${JSON.stringify(watcher.status().filter((s) => !s.synced))}`,
        );
      const report = await agent.cycle();
      io.out(`${JSON.stringify({ ...report, events: recorder.stats, observations: observations.stats })}\n`);
      return EXIT_OK;
    }
    const controller = new AbortController();
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => controller.abort());
    await agent.run(interval, controller.signal);
    log("agent stopping");
    return EXIT_OK;
  } finally {
    await watcher.stop();
    await telemetry?.shutdown();
  }
}
