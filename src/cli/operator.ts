/** `socklens operator`: the NetworkBaseline controller (a Deployment in a cluster). Wiring only. */
import { hostname } from "node:os";
import { kubeConfigFrom } from "./cluster-flags.js";
import { EXIT_OK } from "./errors.js";
import { parseFlags } from "./flags.js";
import type { CliIO } from "./io.js";
import {
  OBSERVABILITY_HELP,
  OBSERVABILITY_OPTIONS,
  observabilityFrom,
  startTelemetry,
} from "./observability.js";
import { VERSION } from "./version.js";

export const OPERATOR_HELP = `Usage: socklens operator [--kubeconfig FILE] [--leader-elect=false] [--lease-namespace NS] [--agent-namespace NS] [--metrics-port PORT] [--log-level LEVEL]

Reconciles NetworkBaselines: validates each one (Ready=False with the field and the problem
when invalid), counts the pods it selects, and aggregates the NetworkObservations agents
write into status.violations and the Violating condition, written through /status.
With several replicas, one leads through a coordination.k8s.io Lease.

  --kubeconfig FILE          default: in-cluster config, KUBECONFIG, ~/.kube/config
  --leader-elect             take the Lease before reconciling (default true)
  --lease-namespace NS       where the Lease lives (default: $POD_NAMESPACE, else socklens-system)
  --identity NAME            this replica's name in the Lease (default: $POD_NAME, else the hostname)
  --agent-namespace NS       where the agents renew their node Leases socklens-agent-<node>: a node
                             whose Lease expired no longer counts (default: $POD_NAMESPACE, else
                             socklens-system); nodes without one are judged by their observations' age
  --auto-promote             act on learning.autoPromote: when learning ends, replace the spec with
                             what was learned, in mode Alert (needs update on networkbaselines)
${OBSERVABILITY_HELP}
/readyz is ready once the watches have listed, or while this replica waits for the Lease
(a standby must not block a rollout).
`;

export const OPERATOR_OPTIONS = {
  kubeconfig: { type: "string" },
  context: { type: "string" },
  "leader-elect": { type: "boolean", default: true },
  "lease-namespace": { type: "string" },
  identity: { type: "string" },
  "agent-namespace": { type: "string" },
  "auto-promote": { type: "boolean", default: false },
  ...OBSERVABILITY_OPTIONS,
} as const;

export async function operatorCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(args, OPERATOR_OPTIONS);
  const identity = values.identity ?? io.env.POD_NAME ?? hostname();
  const obs = observabilityFrom(values, io, { identity });
  const log = obs.logger.log;
  const { BaselineController } = await import("../operator/controller.js");
  const { LeaderElector } = await import("../kube/leader.js");
  const kc = await kubeConfigFrom(values);
  const { EventRecorder } = await import("../kube/events.js");
  const recorder = new EventRecorder(kc, { controller: "socklens.io/operator", instance: identity });
  const controller = new BaselineController(kc, {
    recorder,
    autoPromote: values["auto-promote"],
    agentNamespace: values["agent-namespace"] ?? io.env.POD_NAMESPACE ?? "socklens-system",
    log,
    onError: (kind, error) => {
      log("watch failed, retrying", { level: "warn", kind, error });
      telemetry?.kubeError(kind, "watch");
    },
  });
  const telemetry = await startTelemetry(obs, "socklens-operator", {
    podName: io.env.POD_NAME,
    namespace: io.env.POD_NAMESPACE,
  });
  telemetry?.kubeErrorsFrom(() => [
    { resource: "events", operation: "write", count: recorder.stats.failed },
    { resource: "networkbaselines", operation: "reconcile", count: controller.stats.failed },
  ]);
  telemetry?.observeCounter(
    "socklens.operator.reconciles",
    "NetworkBaseline reconciles, by outcome",
    "{reconcile}",
    () => [
      [controller.stats.reconciled, { "socklens.reconcile.outcome": "done" }],
      [controller.stats.failed, { "socklens.reconcile.outcome": "failed" }],
    ],
  );
  telemetry?.observeGauge("socklens.operator.queue.depth", "Keys waiting to be reconciled", "{key}", () => [
    [controller.queue.length, {}],
  ]);
  const stop = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => stop.abort());
  log("operator started", {
    version: VERSION,
    leaderElect: values["leader-elect"],
    server: kc.getCurrentCluster()?.server,
  });

  let leading = !values["leader-elect"];
  const server =
    obs.metricsPort === undefined
      ? undefined
      : await (await import("../telemetry/server.js")).HealthServer.start({
          port: obs.metricsPort,
          notReady: () =>
            !leading || controller.synced
              ? undefined
              : "waiting for the first list of baselines, observations, pods and node leases",
          metrics: telemetry?.prometheusHandler,
        });
  if (server) log("serving /metrics, /healthz, /readyz", { port: server.port });

  let lost = false;
  const elector = values["leader-elect"]
    ? new LeaderElector(kc, {
        namespace: values["lease-namespace"] ?? io.env.POD_NAMESPACE ?? "socklens-system",
        name: "socklens-operator",
        identity,
        log,
        onStart: () => {
          leading = true;
          void controller.run(stop.signal);
        },
        // As controller-runtime: a replica that lost the Lease exits and restarts clean.
        onStop: () => {
          lost = true;
          stop.abort();
        },
      })
    : undefined;
  if (elector) elector.start();
  else void controller.run(stop.signal);

  await new Promise<void>((resolve) =>
    stop.signal.addEventListener("abort", () => resolve(), { once: true }),
  );
  await elector?.stop();
  await controller.stop();
  await server?.stop();
  await telemetry?.shutdown();
  log("operator stopping", { ...controller.stats });
  return lost ? 1 : EXIT_OK;
}
