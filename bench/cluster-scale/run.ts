// The cluster-scale bench (issue 13 item 5, issue 11 item 9): a real kube-apiserver + etcd
// (the test harness's), the CRDs, pods and baselines of N nodes, N simulated agents writing
// NetworkObservations through the agent's own code, and the real operator as a child process
// (dist/, the image's V8 flags) whose CPU and memory come from /proc. See bench/README.md.
//
//   scripts/node.sh npx tsx bench/cluster-scale/run.ts --nodes 50
//   scripts/node.sh npx tsx bench/cluster-scale/run.ts --nodes 500 --heartbeat 180 --steady 180 --churn 180
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { ControlPlane } from "../../test/cluster/controlplane.js";
import { applyCrds, repoCrds } from "../../test/cluster/kube.js";
import { Fleet } from "./agents.js";
import {
  converged,
  createCluster,
  createRunningPod,
  layout,
  listBaselines,
  NBL,
  podBody,
  podIp,
  pool,
  settled,
  type WorkloadSpec,
} from "./fixtures.js";
import {
  cpuSeconds,
  loadAverage,
  median,
  memory,
  parseRequestTotals,
  type RequestCounts,
  writeDelta,
} from "./measure.js";

const REPO = join(import.meta.dirname, "..", "..");
/** Where the simulated agents renew their node Leases and the operator reads them (the chart's release namespace). */
const AGENT_NAMESPACE = "socklens-system";
const { values: a } = parseArgs({
  options: {
    nodes: { type: "string", default: "50" },
    "baselines-per-node": { type: "string", default: "20" },
    baselines: { type: "string", default: "1000" },
    invalid: { type: "string", default: "200" },
    namespaces: { type: "string", default: "50" },
    "learn-every": { type: "string", default: "10" },
    /** The agent's observation window (its default: 30 s). */
    interval: { type: "string", default: "30" },
    /** The agents' heartbeat, seconds (the real one: 900; a bench cannot wait that out). */
    heartbeat: { type: "string", default: "60" },
    /** The agents' node Lease renewal, seconds (the real one: 300), and its duration (900). */
    "lease-renew": { type: "string", default: "60" },
    "lease-duration": { type: "string", default: "180" },
    steady: { type: "string", default: "120" },
    churn: { type: "string", default: "120" },
    /** Pods replaced per minute, as a share of all pods (the issue: 1%). */
    "churn-rate": { type: "string", default: "0.01" },
    samples: { type: "string", default: "5" },
    out: { type: "string" },
    /** Extra node flags for the operator, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
    "operator-node-flags": { type: "string", default: "" },
    /** V8 old-space limit of the operator, MiB (the image's: 128). */
    "operator-old-space": { type: "string", default: "128" },
    "keep-dir": { type: "boolean", default: false },
  },
  strict: true,
});
const num = (k: keyof typeof a) => Number(a[k]);
const o = {
  nodes: num("nodes"),
  baselinesPerNode: num("baselines-per-node"),
  baselines: num("baselines"),
  invalid: num("invalid"),
  namespaces: num("namespaces"),
  learnEvery: num("learn-every"),
  intervalS: num("interval"),
  heartbeatS: num("heartbeat"),
  leaseRenewS: num("lease-renew"),
  leaseDurationS: num("lease-duration"),
  steadyS: num("steady"),
  churnS: num("churn"),
  churnRate: num("churn-rate"),
  samples: num("samples"),
};
for (const [k, v] of Object.entries(o))
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${k}: expected a number ≥ 0, got ${v}`);

const log = (line: string) =>
  process.stderr.write(`[cluster-scale ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A request the overloaded API server may drop ("fetch failed"): tried up to 5 times. */
async function retried<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 5) throw err;
      log(`${what}: ${(err as Error).message}; retrying`);
      await sleep(1000 * attempt);
    }
  }
}

/** The real operator, as the chart runs it (image ENTRYPOINT's V8 flags), sampled from /proc. */
class Operator {
  readonly child: ChildProcess;
  readonly started = performance.now();
  peakMiB = 0;
  /** Highest RssAnon seen in the 500 ms samples. */
  peakAnonMiB = 0;
  #timer: NodeJS.Timeout;
  readonly exited: Promise<void>;

  constructor(kubeconfig: string, logFile: string) {
    const fd = openSync(logFile, "a");
    this.child = spawn(
      process.execPath,
      [
        "--max-semi-space-size=2",
        `--max-old-space-size=${Number(a["operator-old-space"])}`,
        ...(a["operator-node-flags"] ? a["operator-node-flags"].split(/\s+/) : []),
        join(REPO, "bin/socklens.js"),
        "operator",
        "--kubeconfig",
        kubeconfig,
        "--no-leader-elect",
        "--agent-namespace",
        AGENT_NAMESPACE,
      ],
      { stdio: ["ignore", fd, fd] },
    );
    this.exited = new Promise((r) => this.child.on("exit", () => r()));
    // The harness SIGKILLs etcd and the API server when this process exits; the operator too.
    process.once("exit", () => this.child.kill("SIGKILL"));
    this.#timer = setInterval(() => this.sample(), 500);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  sample(): { cpu: number; rssMiB: number } {
    try {
      const m = memory(this.pid);
      this.peakMiB = Math.max(this.peakMiB, m.peakMiB);
      this.peakAnonMiB = Math.max(this.peakAnonMiB, m.anonMiB);
      return { cpu: cpuSeconds(this.pid), rssMiB: m.rssMiB };
    } catch {
      return { cpu: Number.NaN, rssMiB: Number.NaN }; // exited
    }
  }

  async stop(): Promise<void> {
    this.sample();
    clearInterval(this.#timer);
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(t);
  }
}

/**
 * The API server's /metrics, with patience: on a loaded machine the harness's 5 s GET
 * timeout is too short for a response of this size.
 */
async function metrics(cp: ControlPlane): Promise<RequestCounts> {
  const creds = {
    ca: readFileSync(cp.pki.caCert),
    cert: readFileSync(cp.pki.adminCert),
    key: readFileSync(cp.pki.adminKey),
  };
  for (let attempt = 1; ; attempt++) {
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port: cp.apiPort, path: "/metrics", ...creds, timeout: 60_000 },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => {
              text += c;
            });
            res.on("end", () =>
              res.statusCode === 200
                ? resolve(text)
                : reject(new Error(`GET /metrics: HTTP ${res.statusCode}`)),
            );
          },
        );
        req.on("timeout", () => req.destroy(new Error("GET /metrics timed out after 60 s")));
        req.on("error", reject);
        req.end();
      });
      return parseRequestTotals(body);
    } catch (err) {
      if (attempt >= 5) throw err;
      log(`metrics: ${(err as Error).message}; retrying`);
      await sleep(2000);
    }
  }
}

async function waitConverged(
  kc: KubeConfig,
  prefix: string,
  total: number,
  timeoutMs: number,
  op: Operator,
  done_: (b: Awaited<ReturnType<typeof listBaselines>>[number]) => boolean = converged,
  t0 = performance.now(),
): Promise<number> {
  for (;;) {
    // A crash (V8's out-of-memory abort) is a signal, not an exit code.
    if (op.child.exitCode !== null || op.child.signalCode !== null)
      throw new Error(
        `the operator exited (${op.child.signalCode ?? `code ${op.child.exitCode}`}); see its log`,
      );
    const all = (await retried("list baselines", () => listBaselines(kc))).filter((b) =>
      b.metadata?.namespace?.startsWith(`${prefix}-`),
    );
    const done = all.filter(done_).length;
    if (all.length === total && done === total) return (performance.now() - t0) / 1000;
    if (performance.now() - t0 > timeoutMs) throw new Error(`only ${done}/${total} baselines converged`);
    await sleep(250);
  }
}

/** A phase's figures: writes from the API server's counters, the operator's CPU from /proc. */
async function phase(
  name: string,
  seconds: number,
  cp: ControlPlane,
  op: Operator,
  during: (signal: AbortSignal) => Promise<number[]>,
) {
  log(`${name}: ${seconds} s`);
  const m0 = await metrics(cp);
  const c0 = op.sample().cpu;
  const t0 = performance.now();
  const stop = new AbortController();
  const latencies = during(stop.signal);
  await sleep(seconds * 1000);
  stop.abort();
  const lat = await latencies;
  const wall = (performance.now() - t0) / 1000;
  const c1 = op.sample().cpu;
  const writes = writeDelta(m0, await metrics(cp));
  const sum = (pred: (k: string) => boolean) =>
    [...writes].filter(([k]) => pred(k)).reduce((s, [, v]) => s + v, 0);
  const result = {
    seconds: wall,
    writesPerSecond: sum(() => true) / wall,
    observationWritesPerSecond: sum((k) => / networkobservations$/.test(k)) / wall,
    statusWritesPerSecond: sum((k) => / networkbaselines\/status$/.test(k)) / wall,
    podWritesPerSecond: sum((k) => / pods(\/status)?$/.test(k)) / wall,
    leaseWritesPerSecond: sum((k) => / leases$/.test(k)) / wall,
    operatorCpuSecondsPerMinute: ((c1 - c0) / wall) * 60,
    latencyMs: { median: median(lat), max: Math.max(...lat), samples: lat.length },
    byRequest: Object.fromEntries([...writes].sort((x, y) => y[1] - x[1])),
  };
  log(`${name}: ${JSON.stringify(result)}`);
  return result;
}

async function main(): Promise<void> {
  const prefix = `scale${o.nodes}`;
  const l = layout({ ...o, prefix });
  const entries = l.workloads.reduce((n, w) => n + w.nodes.length, 0);
  log(
    `${o.nodes} nodes × ${o.baselinesPerNode} baselines per node, ${o.baselines} valid + ${o.invalid} invalid baselines, ` +
      `${entries} observations, ${entries} pods; window ${o.intervalS} s, heartbeat ${o.heartbeatS} s (only while a node Lease is not live), Lease renewed every ${o.leaseRenewS} s for ${o.leaseDurationS} s; load ${loadAverage()}`,
  );
  const cp = await ControlPlane.start({
    keepDir: a["keep-dir"],
    apiServerFlags: ["--max-requests-inflight=800", "--max-mutating-requests-inflight=400"],
  });
  let op: Operator | undefined;
  let fleet: Fleet | undefined;
  try {
    const kc = cp.kubeConfig();
    await applyCrds(kc, await repoCrds(REPO));
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: AGENT_NAMESPACE } } });
    let t = performance.now();
    const created = await createCluster(kc, l, { concurrency: 24, log });
    log(
      `created ${l.namespaces.length} namespaces, ${created.podCount} pods, ${o.baselines + o.invalid} baselines in ${((performance.now() - t) / 1000).toFixed(0)} s`,
    );

    const opLog = join(cp.dir, "operator.log");
    op = new Operator(cp.kubeconfigPath, opLog);
    const cold = await waitConverged(kc, prefix, o.baselines + o.invalid, 600_000, op);
    log(
      `operator: every baseline has a status ${cold.toFixed(1)} s after start (no observations yet); log ${opLog}`,
    );

    fleet = new Fleet(l, created.pods, cp.kubeconfigPath, {
      intervalMs: o.intervalS * 1000,
      heartbeatMs: o.heartbeatS * 1000,
      lease: { namespace: AGENT_NAMESPACE, renewMs: o.leaseRenewS * 1000, durationSeconds: o.leaseDurationS },
    });
    t = performance.now();
    fleet.start();
    while (fleet.stats.writes.new < entries) {
      if (performance.now() - t > 900_000)
        throw new Error(`only ${fleet.stats.writes.new}/${entries} first writes`);
      await sleep(500);
    }
    log(
      `agents: all ${entries} observations written once in ${((performance.now() - t) / 1000).toFixed(0)} s (failed ${fleet.stats.failed})`,
    );
    await sleep(o.intervalS * 1000); // let the operator work through the first wave
    while (!fleet.leasesLive()) {
      if (performance.now() - t > 900_000) throw new Error("not every node's Lease was renewed");
      await sleep(500);
    }
    log(`agents: every node's Lease renewed (${JSON.stringify(fleet.leaseStats())})`);

    // Time from a changed observation to the baseline's status: a finding appears on one node.
    const custom = kc.makeApiClient(CustomObjectsApi);
    const f = fleet;
    const probe = async (signal: AbortSignal): Promise<number[]> => {
      const out: number[] = [];
      const spacing = Math.max(1, (o.steadyS * 1000) / (o.samples + 1));
      for (let i = 0; i < o.samples && !signal.aborted; i++) {
        await sleep(spacing / 2);
        const w = l.workloads[Math.floor(Math.random() * l.workloads.length)] as WorkloadSpec;
        const node = w.nodes[0] as string;
        const total = async () =>
          (
            (await custom.getNamespacedCustomObject({ ...NBL, namespace: w.namespace, name: w.name })) as {
              status?: { violations?: { total?: number } };
            }
          ).status?.violations?.total ?? 0;
        const before = await total();
        const t0 = performance.now();
        await f.setViolation(node, w, true);
        while ((await total()) === before) {
          if (performance.now() - t0 > 60_000) break; // counted as 60 s: the operator is starved
          await sleep(20);
        }
        out.push(performance.now() - t0);
        await f.setViolation(node, w, false);
        await sleep(spacing / 2);
      }
      return out;
    };
    const out = a.out ?? join(REPO, "bench", "results", `cluster-scale-${o.nodes}.json`);
    mkdirSync(join(out, ".."), { recursive: true });
    // Figures so far, in case a later phase fails on a machine this loaded.
    const partial: Record<string, unknown> = {
      date: new Date().toISOString(),
      options: o,
      coldStatusSeconds: cold,
      partial: true,
    };
    const save = (k: string, v: unknown) => {
      partial[k] = v;
      writeFileSync(out, `${JSON.stringify(partial, null, 2)}\n`);
    };
    const steady = await phase("steady", o.steadyS, cp, op, probe);
    save("steady", steady);

    // Churn: 1% of pods replaced per minute (delete + a new pod with a new name and IP on the
    // same node, as a rollout would); the node's agent sees the new pod from then on.
    const core = kc.makeApiClient(CoreV1Api);
    let podSerial = created.podCount;
    let replaced = 0;
    const churner = async (signal: AbortSignal) => {
      const every = 60_000 / Math.max(1e-9, o.churnRate * entries);
      const started = performance.now();
      const tasks: Promise<void>[] = [];
      while (!signal.aborted) {
        const due = Math.floor((performance.now() - started) / every);
        for (; replaced < due; replaced++) {
          const w = l.workloads[Math.floor(Math.random() * l.workloads.length)] as WorkloadSpec;
          const node = w.nodes[Math.floor(Math.random() * w.nodes.length)] as string;
          const key = `${w.namespace}/${w.name}@${node}`;
          const old = created.pods.get(key);
          if (!old) continue;
          const n = podSerial++;
          const pod = { name: `${w.name}-${node.slice(-4)}-${n}`, ip: podIp(n) };
          created.pods.set(key, pod);
          tasks.push(
            (async () => {
              await core.deleteNamespacedPod({
                namespace: w.namespace,
                name: old.name,
                gracePeriodSeconds: 0,
              });
              await createRunningPod(core, podBody(w, node, pod.name), pod.ip);
              f.replacePod(node, w, pod);
            })().catch((err) => {
              log(`churn: ${(err as Error).message}`);
            }),
          );
        }
        await sleep(100);
      }
      await Promise.all(tasks);
    };
    const churn = await phase("churn", o.churnS, cp, op, async (signal) => {
      const [, lat] = await Promise.all([churner(signal), probe(signal)]);
      return lat;
    });
    log(`churn: ${replaced} pods replaced`);
    save("churn", { ...churn, podsReplaced: replaced, operatorPeakRssMiB: op.peakMiB });
    const runningPeak = op.peakMiB;
    const runningPeakAnon = op.peakAnonMiB;

    // Restart: the operator stops, every valid baseline's spec changes meanwhile, and a new
    // operator must list 1,000+ baselines, every observation and pod, and write each status.
    await op.stop();
    log(
      `operator stopped; peak RSS while running ${runningPeak.toFixed(0)} MiB; changing ${o.baselines} specs`,
    );
    await pool(l.workloads, 24, async (w) => {
      await retried("patch spec", () =>
        custom.patchNamespacedCustomObject({
          ...NBL,
          namespace: w.namespace,
          name: w.name,
          body: [{ op: "replace", path: "/spec/thresholds/established", value: 2001 }],
        }),
      );
    });
    op = new Operator(cp.kubeconfigPath, opLog);
    const restartT0 = performance.now();
    const restart = await waitConverged(
      kc,
      prefix,
      o.baselines + o.invalid,
      600_000,
      op,
      converged,
      restartT0,
    );
    const restartCpu = op.sample().cpu;
    // Then until each status is the complete one (pods counted, observations read): an
    // operator that reconciles before its caches are listed converges first on a partial one.
    const podsOf = new Map(l.workloads.map((w) => [`${w.namespace}/${w.name}`, w.nodes.length]));
    const restartSettled = await waitConverged(
      kc,
      prefix,
      o.baselines + o.invalid,
      600_000,
      op,
      (b) => settled(b, podsOf.get(`${b.metadata?.namespace}/${b.metadata?.name}`) ?? 0),
      restartT0,
    );
    const restartSettledCpu = op.sample().cpu;
    await sleep(5000);
    const restartQuietCpu = op.sample().cpu;
    const restartPeak = op.peakMiB;
    const restartPeakAnon = op.peakAnonMiB;
    if (process.env.SCALE_HEAP_SNAPSHOT === "1") {
      // With --operator-node-flags=--heapsnapshot-signal=SIGUSR2: what the operator retains.
      process.kill(op.pid, "SIGUSR2");
      await sleep(30_000);
    }
    log(
      `restart: converged in ${restart.toFixed(1)} s, ${restartCpu.toFixed(1)} CPU-s; complete in ${restartSettled.toFixed(1)} s, ${restartSettledCpu.toFixed(1)} CPU-s (${restartQuietCpu.toFixed(1)} CPU-s 5 s later); peak RSS ${restartPeak.toFixed(0)} MiB (anon ${restartPeakAnon.toFixed(0)} MiB); load ${loadAverage()}`,
    );

    const all = (await listBaselines(kc)).filter((b) => b.metadata?.namespace?.startsWith(`${prefix}-`));
    const invalidReady = all
      .filter((b) => b.metadata?.name?.startsWith("broken-"))
      .filter((b) =>
        b.status?.conditions?.some(
          (x) => x.type === "Ready" && x.status === "False" && x.reason === "InvalidSpec",
        ),
      ).length;

    const result = {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model,
        memGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      loadAverageAtEnd: loadAverage(),
      options: o,
      observations: entries,
      coldStatusSeconds: cold,
      firstWrites: fleet.stats.writes.new,
      steady,
      churn: { ...churn, podsReplaced: replaced },
      restart: {
        convergedSeconds: restart,
        cpuSeconds: restartCpu,
        completeSeconds: restartSettled,
        completeCpuSeconds: restartSettledCpu,
        cpuSecondsFiveSecondsLater: restartQuietCpu,
        loadAverage: loadAverage(),
        peakRssMiB: restartPeak,
        peakRssAnonMiB: restartPeakAnon,
      },
      operatorPeakRssMiB: Math.max(runningPeak, restartPeak),
      operatorPeakRssAnonMiB: Math.max(runningPeakAnon, restartPeakAnon),
      invalidReadyFalse: invalidReady,
      agentWrites: { ...fleet.stats, leases: fleet.leaseStats() },
    };
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${out}`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    fleet?.stop();
    await op?.stop();
    await cp.stop();
  }
}

// Interrupted: exit through process.exit so the harness's exit hook stops what it started.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));

main().catch((err) => {
  process.stderr.write(`cluster-scale failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
