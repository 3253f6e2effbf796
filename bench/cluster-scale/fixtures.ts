// The cluster a scale run (and test/cluster/operator-scale.test.ts) works on: namespaces,
// one workload per baseline with a pod on each node its baseline covers, the baselines
// themselves (valid, and invalid ones the CRD schema lets through but the operator must
// mark Ready=False), created on a real API server with bounded concurrency.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from "@kubernetes/client-node";

export const NBL = { group: "socklens.io", version: "v1alpha1", plural: "networkbaselines" } as const;

export interface LayoutOptions {
  nodes: number;
  /** Baselines that select a pod on each node (the issue: 20). */
  baselinesPerNode: number;
  /** Valid baselines in all (the issue: 1,000); each covers nodes × perNode / baselines nodes. */
  baselines: number;
  /** Baselines with a spec the operator must reject (Ready=False), selecting nothing. */
  invalid: number;
  namespaces: number;
  /** Every n-th valid baseline is in mode Learn (0: none). */
  learnEvery: number;
  /** Prefix of every namespace (unique per run: namespaces never finish deleting here). */
  prefix: string;
}

export interface WorkloadSpec {
  index: number;
  namespace: string;
  name: string;
  mode: "Alert" | "Learn";
  /** The nodes it has a pod on. */
  nodes: string[];
}

export interface Layout {
  options: LayoutOptions;
  nodes: string[];
  namespaces: string[];
  workloads: WorkloadSpec[];
  invalid: { namespace: string; name: string }[];
}

export const nodeName = (i: number) => `sim-node-${String(i).padStart(4, "0")}`;

/**
 * Which baseline has a pod on which node: baseline i covers k = nodes × perNode / baselines
 * consecutive nodes from i × k, so every node gets exactly perNode baselines.
 */
export function layout(o: LayoutOptions): Layout {
  const slots = o.nodes * o.baselinesPerNode;
  if (slots % o.baselines !== 0 || slots < o.baselines)
    throw new Error(
      `nodes × baselines-per-node (${slots}) must be a multiple of baselines (${o.baselines}) and at least as many`,
    );
  const k = slots / o.baselines;
  const nodes = Array.from({ length: o.nodes }, (_, i) => nodeName(i));
  const namespaces = Array.from({ length: o.namespaces }, (_, i) => `${o.prefix}-${i}`);
  const workloads: WorkloadSpec[] = Array.from({ length: o.baselines }, (_, i) => ({
    index: i,
    namespace: namespaces[i % o.namespaces] as string,
    name: `wl-${i}`,
    mode: o.learnEvery > 0 && i % o.learnEvery === 0 ? "Learn" : "Alert",
    nodes: Array.from({ length: k }, (_, r) => nodes[(i * k + r) % o.nodes] as string),
  }));
  const invalid = Array.from({ length: o.invalid }, (_, i) => ({
    namespace: namespaces[i % o.namespaces] as string,
    name: `broken-${i}`,
  }));
  return { options: o, nodes, namespaces, workloads, invalid };
}

/** A valid baseline for workload w: what a team would write for a web service with a database. */
export function baselineBody(w: WorkloadSpec, generationMark = 2000): Record<string, unknown> {
  return {
    apiVersion: "socklens.io/v1alpha1",
    kind: "NetworkBaseline",
    metadata: { name: w.name, namespace: w.namespace, labels: { "app.kubernetes.io/part-of": "scale" } },
    spec: {
      podSelector: { matchLabels: { app: w.name } },
      mode: w.mode,
      ...(w.mode === "Learn" ? { learning: { duration: "24h" } } : {}),
      listeners: [
        { port: 8080, protocol: "TCP" },
        { port: 9090, protocol: "TCP" },
      ],
      egress: [
        {
          to: [{ podSelector: { matchLabels: { app: "db" } } }],
          ports: [{ port: 5432, protocol: "TCP" }],
        },
        { to: [{ entity: "cluster" }], ports: [{ port: 53, protocol: "UDP" }] },
        { to: [{ ipBlock: { cidr: "52.0.0.0/8" } }], ports: [{ port: 443, protocol: "TCP" }] },
      ],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "edge" } } }] }],
      thresholds: { tcpStates: { CLOSE_WAIT: 50 }, established: generationMark },
    },
  };
}

/**
 * Passes the CRD schema (each field has the right shape) but not the semantic check: an
 * `except` outside its `cidr`. The operator must say Ready=False/InvalidSpec.
 */
export function invalidBaselineBody(b: { namespace: string; name: string }): Record<string, unknown> {
  return {
    apiVersion: "socklens.io/v1alpha1",
    kind: "NetworkBaseline",
    metadata: { name: b.name, namespace: b.namespace, labels: { "app.kubernetes.io/part-of": "scale" } },
    spec: {
      podSelector: { matchLabels: { app: b.name } },
      egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["192.168.0.0/16"] } }] }],
    },
  };
}

/** An IPv4 address in 10.64.0.0/10 for the n-th pod ever created. */
export function podIp(n: number): string {
  const v = (10 << 24) | (64 << 16) | (n + 2);
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
}

/** A pod shaped like a real one (a container with ports, resources, env; status with conditions). */
export function podBody(w: WorkloadSpec, node: string, name: string): V1Pod {
  return {
    metadata: {
      name,
      namespace: w.namespace,
      labels: { app: w.name, "pod-template-hash": "5d8f7c9b6d", tier: "backend" },
      annotations: { "kubectl.kubernetes.io/restartedAt": "2026-11-20T10:00:00Z" },
    },
    spec: {
      nodeName: node,
      serviceAccountName: "default",
      containers: [
        {
          name: "app",
          image: `registry.example.invalid/team/${w.name}:1.4.2`,
          ports: [
            { name: "http", containerPort: 8080, protocol: "TCP" },
            { name: "metrics", containerPort: 9090, protocol: "TCP" },
          ],
          env: [
            { name: "DB_HOST", value: "db" },
            { name: "LOG_LEVEL", value: "info" },
          ],
          resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
          readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 10 },
        },
      ],
    },
  };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Creates a pod and marks it Running with its IP, as a kubelet would (no kubelet runs here). */
export async function createRunningPod(core: CoreV1Api, body: V1Pod, ip: string): Promise<void> {
  const created = await core.createNamespacedPod({ namespace: body.metadata?.namespace as string, body });
  const now = new Date();
  created.status = {
    phase: "Running",
    podIP: ip,
    podIPs: [{ ip }],
    hostIP: "192.168.0.10",
    startTime: now,
    conditions: ["Initialized", "Ready", "ContainersReady", "PodScheduled"].map((type) => ({
      type,
      status: "True",
      lastTransitionTime: now,
    })),
    containerStatuses: [
      {
        name: "app",
        ready: true,
        restartCount: 0,
        image: body.spec?.containers[0]?.image as string,
        imageID: "registry.example.invalid/team/app@sha256:0f3a",
        containerID: `containerd://${"c".repeat(64)}`,
        started: true,
        state: { running: { startedAt: now } },
      },
    ],
  };
  await core.replaceNamespacedPodStatus({
    namespace: body.metadata?.namespace as string,
    name: created.metadata?.name as string,
    body: created,
  });
}

export interface Created {
  /** Pod name by `${namespace}/${workload}@${node}`. */
  pods: Map<string, { name: string; ip: string }>;
  podCount: number;
}

/** Creates namespaces, pods and baselines; `log` gets progress lines. */
export async function createCluster(
  kc: KubeConfig,
  l: Layout,
  opts: { concurrency?: number; log?: (line: string) => void; withPods?: boolean } = {},
): Promise<Created> {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const c = opts.concurrency ?? 16;
  const log = opts.log ?? (() => {});
  await pool(l.namespaces, c, async (name) => {
    await core.createNamespace({
      body: { metadata: { name, labels: { "socklens.io/test": "true", team: "shop" } } },
    });
  });
  const pods = new Map<string, { name: string; ip: string }>();
  let n = 0;
  if (opts.withPods !== false) {
    const todo = l.workloads.flatMap((w) => w.nodes.map((node) => ({ w, node })));
    const started = Date.now();
    await pool(todo, c, async ({ w, node }) => {
      const i = n++;
      const name = `${w.name}-${node.slice(-4)}-0`;
      const ip = podIp(i);
      await createRunningPod(core, podBody(w, node, name), ip);
      pods.set(`${w.namespace}/${w.name}@${node}`, { name, ip });
      if (i % 1000 === 999)
        log(`  ${i + 1}/${todo.length} pods (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    });
  }
  await pool(l.workloads, c, async (w) => {
    await custom.createNamespacedCustomObject({ ...NBL, namespace: w.namespace, body: baselineBody(w) });
  });
  await pool(l.invalid, c, async (b) => {
    await custom.createNamespacedCustomObject({
      ...NBL,
      namespace: b.namespace,
      body: invalidBaselineBody(b),
    });
  });
  return { pods, podCount: n };
}

interface StatusView {
  metadata?: { name?: string; namespace?: string; generation?: number };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    violations?: { total?: number };
    matchedPods?: number;
  };
}

/** Every baseline under the prefix, with the fields convergence is judged by (paged lists). */
export async function listBaselines(kc: KubeConfig): Promise<StatusView[]> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const out: StatusView[] = [];
  let _continue: string | undefined;
  do {
    const page = (await custom.listClusterCustomObject({
      ...NBL,
      labelSelector: "app.kubernetes.io/part-of=scale",
      limit: 500,
      ...(_continue ? { _continue } : {}),
    })) as { items: StatusView[]; metadata?: { continue?: string } };
    out.push(...page.items);
    // Custom objects come back as plain JSON: the token is `continue`, not the typed `_continue`.
    _continue = page.metadata?.continue || undefined;
  } while (_continue);
  return out;
}

/** Whether the operator has written a status for this generation of the baseline. */
export function converged(b: StatusView): boolean {
  const ready = b.status?.conditions?.find((c) => c.type === "Ready");
  return ready !== undefined && b.status?.observedGeneration === b.metadata?.generation;
}

/**
 * Whether the status is the complete one, not only one for this generation: a valid baseline
 * counts its pods (`pods`, as created) and has heard from an agent (Violating is not Unknown).
 * An operator that reconciles before its pod and observation caches are listed writes a
 * status for the generation first (so `converged`) and the real one later.
 */
export function settled(b: StatusView, pods: number): boolean {
  if (!converged(b)) return false;
  if (b.metadata?.name?.startsWith("broken-")) return true;
  const violating = b.status?.conditions?.find((c) => c.type === "Violating");
  return b.status?.matchedPods === pods && violating !== undefined && violating.status !== "Unknown";
}
