/**
 * The operator's /healthz, /readyz and /metrics (`socklens operator --metrics-port`), as the
 * chart's probes and ServiceMonitor use them: the real operator process on the real API
 * server, scraped by the real Prometheus (test/cluster/prometheus.ts). Its reconcile counter
 * must count the reconcile of a baseline this test creates.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../host/sandbox.js";
import { adminKubeConfig, clusterContext, createNamespace } from "./env.js";
import { applyCrds, createBaseline, repoCrds } from "./kube.js";
import { freePort, ManagedProcess, waitFor } from "./process.js";
import { Prometheus } from "./prometheus.js";

/** The value of one Prometheus text-format sample whose line starts with `prefix`. */
function sample(text: string, prefix: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("operator /healthz, /readyz and /metrics", () => {
  let dir: string;
  let operator: ManagedProcess;
  let prometheus: Prometheus;
  let base: string;
  let port: number;

  beforeAll(async () => {
    const kc = adminKubeConfig();
    await applyCrds(kc, await repoCrds(REPO));
    dir = await mkdtemp(join(tmpdir(), "socklens-operator-metrics-"));
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    operator = new ManagedProcess(
      "socklens-operator",
      process.execPath,
      [
        join(REPO, "bin", "socklens.js"),
        "operator",
        "--no-leader-elect",
        "--kubeconfig",
        clusterContext().kubeconfig,
        "--metrics-port",
        String(port),
      ],
      join(dir, "operator.log"),
    );
    prometheus = await Prometheus.start([`127.0.0.1:${port}`], "socklens-operator");
  });

  afterAll(async () => {
    await operator?.stop();
    await prometheus?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("answers the probes, counts a reconcile of a new baseline, and Prometheus scrapes it", async () => {
    await waitFor(
      "/healthz 200",
      async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200,
      {
        timeoutMs: 30_000,
        procs: [operator],
        describe: () => operator.tail(),
      },
    );
    await waitFor(
      "/readyz 200 (informers synced)",
      async () => (await fetch(`${base}/readyz`)).status === 200,
      {
        timeoutMs: 30_000,
        procs: [operator],
        describe: () => operator.tail(),
      },
    );
    expect((await fetch(`${base}/nope`)).status).toBe(404);

    const kc = adminKubeConfig();
    const before = sample(
      await (await fetch(`${base}/metrics`)).text(),
      "socklens_operator_reconciles_total{",
    );
    const ns = await createNamespace(kc, "opmetrics");
    await createBaseline(kc, ns, "web", {
      podSelector: { matchLabels: { app: "web" } },
      listeners: [],
    });
    // Every reconcile of that baseline (and of other files' baselines: the control plane is
    // shared) counts, so the counter must move past where it stood before the create.
    let text = "";
    await waitFor(
      "the reconcile of the new baseline counted on /metrics",
      async () => {
        text = await (await fetch(`${base}/metrics`)).text();
        const done = sample(text, 'socklens_operator_reconciles_total{socklens_reconcile_outcome="done"');
        return done !== undefined && done > (before ?? 0);
      },
      { timeoutMs: 30_000, procs: [operator], describe: () => `${text.slice(0, 2000)}\n${operator.tail()}` },
    );
    for (const name of ["socklens_operator_queue_depth", "process_cpu_time_total", "process_memory_usage"])
      expect(text, name).toContain(`# TYPE ${name} `);

    await waitFor(
      "Prometheus to scrape the operator",
      async () => (await prometheus.query('up{job="socklens-operator"} == 1')).length === 1,
      { timeoutMs: 30_000, describe: () => prometheus.log() },
    );
    await waitFor(
      "socklens_operator_reconciles_total in Prometheus",
      async () =>
        (await prometheus.query('socklens_operator_reconciles_total{socklens_reconcile_outcome="done"} > 0'))
          .length === 1,
      { timeoutMs: 30_000 },
    );
  });
});
