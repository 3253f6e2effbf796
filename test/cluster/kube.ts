// Small Kubernetes helpers for the cluster tests, on top of @kubernetes/client-node.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ApiException,
  ApiextensionsV1Api,
  type AppsV1Api,
  type CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
  type V1Deployment,
  type V1Pod,
  type V1ReplicaSet,
} from "@kubernetes/client-node";
import { ip, type Sandbox } from "../host/sandbox.js";
import { waitFor } from "./process.js";

/** HTTP status and the API server's own message from a failed client-node call. */
export function apiError(err: unknown): { code: number; message: string; reason: string } {
  if (err instanceof ApiException) {
    let body: unknown = err.body;
    if (typeof body === "string") {
      try {
        body = JSON.parse(body);
      } catch {
        return { code: err.code, message: body as string, reason: "" };
      }
    }
    const status = (body ?? {}) as { message?: string; reason?: string };
    return { code: err.code, message: status.message ?? String(err.body), reason: status.reason ?? "" };
  }
  throw err;
}

/** Runs `fn` and returns the API error it fails with; throws if it succeeds. */
export async function expectApiError(fn: () => Promise<unknown>): Promise<ReturnType<typeof apiError>> {
  try {
    await fn();
  } catch (err) {
    return apiError(err);
  }
  throw new Error("expected the API server to reject the request, but it succeeded");
}

/**
 * Parses multi-document YAML into client-node's typed models. This matters: client-node
 * re-serializes known kinds through its models on the way out, and a plain object's keys
 * that the model spells differently are silently dropped — a CRD schema's `enum` (the
 * model calls it `_enum`) vanishes and the server then accepts any value. loadAllYaml
 * maps them properly.
 */
export function parseManifests(text: string): KubernetesObject[] {
  return (loadAllYaml(text) as (KubernetesObject | null)[]).filter(
    (o): o is KubernetesObject => o !== null && typeof o === "object" && "kind" in o,
  );
}

/** Server-side apply of every object, as `kubectl apply --server-side` would. */
export async function apply(kc: KubeConfig, objects: KubernetesObject[]): Promise<KubernetesObject[]> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  const out: KubernetesObject[] = [];
  for (const obj of objects) {
    try {
      out.push(
        await client.patch(obj, undefined, undefined, "socklens-tests", true, PatchStrategy.ServerSideApply),
      );
    } catch (err) {
      if (!(err instanceof ApiException)) throw err;
      const e = apiError(err);
      // The server's own words, without client-node's dump of headers around them.
      throw new Error(
        `the API server rejected ${obj.kind} ${obj.metadata?.name} (HTTP ${e.code} ${e.reason}): ${e.message}`,
        {
          cause: err,
        },
      );
    }
  }
  return out;
}

/**
 * Applies CRDs and waits until each is usable: Established, and a list of every served
 * version succeeds (right after Established the server can still answer 429 "storage is
 * (re)initializing" while the new resource's watch cache fills).
 */
export async function applyCrds(kc: KubeConfig, crds: KubernetesObject[]): Promise<string[]> {
  await apply(kc, crds);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const names = crds.map((c) => c.metadata?.name ?? "");
  for (const name of names) {
    await waitFor(
      `CRD ${name} Established`,
      async () => {
        const crd = await ext.readCustomResourceDefinition({ name });
        return (crd.status?.conditions ?? []).some((c) => c.type === "Established" && c.status === "True");
      },
      { timeoutMs: 30_000 },
    );
    const crd = await ext.readCustomResourceDefinition({ name });
    for (const v of crd.spec.versions.filter((x) => x.served)) {
      await waitFor(
        `CRD ${name} ${v.name} listable`,
        async () => {
          await custom.listClusterCustomObject({
            group: crd.spec.group,
            version: v.name,
            plural: crd.spec.names.plural,
          });
          return true;
        },
        { timeoutMs: 30_000 },
      );
    }
  }
  return names;
}

/** The repository's crds/*.yaml, if that folder exists yet. */
export async function repoCrds(root: string): Promise<KubernetesObject[]> {
  const dir = join(root, "crds");
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch {
    return [];
  }
  const out: KubernetesObject[] = [];
  for (const f of files) out.push(...parseManifests(await readFile(join(dir, f), "utf8")));
  return out.filter((o) => o.kind === "CustomResourceDefinition");
}

/** Create a NetworkBaseline (socklens.io/v1alpha1) with this spec. */
export async function createBaseline(
  kc: KubeConfig,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: "socklens.io",
    version: "v1alpha1",
    plural: "networkbaselines",
    namespace,
    body: { apiVersion: "socklens.io/v1alpha1", kind: "NetworkBaseline", metadata: { name }, spec },
  });
}

/**
 * NetworkBaselines a ClusterWatcher sees in one namespace. The cluster suites share one
 * control plane, so a watcher sees other files' baselines too: count only your own.
 */
export function ownBaselines(watcher: { baselines(): unknown[] }, namespace: string): number {
  return watcher
    .baselines()
    .filter((b) => (b as { metadata?: { namespace?: string } }).metadata?.namespace === namespace).length;
}

/**
 * Create a pod and give it the status a kubelet would report (Running, with `ip`): there is
 * no kubelet in the test control plane.
 */
export async function runningPod(
  core: CoreV1Api,
  namespace: string,
  body: V1Pod,
  ip: string,
): Promise<V1Pod> {
  const created = await core.createNamespacedPod({ namespace, body });
  created.status = { phase: "Running", podIP: ip, podIPs: [{ ip }] };
  return core.replaceNamespacedPodStatus({
    namespace,
    name: created.metadata?.name as string,
    body: created,
  });
}

/**
 * A Deployment as a controller-manager would leave it (there is none here): it selects
 * `{app}`; each of its ReplicaSets (one per pod-template-hash) selects `{app,
 * pod-template-hash}` and is owned by it; `podOf` makes a pod of a ReplicaSet with its
 * labels and an ownerReference, as the ReplicaSet controller would.
 */
export async function createDeployment(
  apps: AppsV1Api,
  namespace: string,
  app: string,
): Promise<V1Deployment> {
  return apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: app, labels: { app } },
      spec: {
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app } },
          spec: { containers: [{ name: "app", image: `example.invalid/${app}` }] },
        },
      },
    },
  });
}

/** The ReplicaSet `<deployment>-<hash>` of a Deployment's revision. */
export async function createReplicaSet(
  apps: AppsV1Api,
  deployment: V1Deployment,
  hash: string,
): Promise<V1ReplicaSet> {
  const name = deployment.metadata?.name as string;
  const labels = { ...deployment.spec?.selector.matchLabels, "pod-template-hash": hash };
  return apps.createNamespacedReplicaSet({
    namespace: deployment.metadata?.namespace as string,
    body: {
      metadata: {
        name: `${name}-${hash}`,
        labels,
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name,
            uid: deployment.metadata?.uid as string,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: "app", image: `example.invalid/${name}` }] },
        },
      },
    },
  });
}

/** A pod `<replicaset>-<suffix>` of a ReplicaSet, bound to `nodeName` (no scheduler here). */
export function podOf(rs: V1ReplicaSet, suffix: string, nodeName: string): V1Pod {
  const name = rs.metadata?.name as string;
  return {
    metadata: {
      name: `${name}-${suffix}`,
      labels: { ...rs.spec?.template?.metadata?.labels },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name,
          uid: rs.metadata?.uid as string,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { nodeName, containers: [{ name: "app", image: "example.invalid/app" }] },
  };
}

/**
 * Delete a pod the way it goes on a node: the delete marks it Terminating (a pod bound to a
 * node is deleted gracefully), `stop` ends its processes (the kubelet's part), then the
 * kubelet's final delete with grace period 0 removes the object.
 */
export async function terminatePod(
  core: CoreV1Api,
  namespace: string,
  name: string,
  stop: () => Promise<void>,
): Promise<void> {
  await core.deleteNamespacedPod({ namespace, name });
  await stop();
  await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
  await waitFor(
    `pod ${namespace}/${name} removed`,
    async () => {
      try {
        await core.readNamespacedPod({ namespace, name });
        return false;
      } catch (err) {
        return apiError(err).code === 404;
      }
    },
    { timeoutMs: 10_000 },
  );
}

/**
 * One node's pod network, as a bridge CNI plugin makes it: a bridge in its own network
 * namespace, and per pod a namespace whose eth0 (a veth into the bridge) holds the pod IP.
 * Everything lives in the sandbox's namespaces, so its cleanup removes it.
 */
export class PodNetwork {
  readonly #hub: string;
  #ports = 0;

  constructor(
    private readonly box: Sandbox,
    private readonly prefixLength = 24,
  ) {
    this.#hub = box.netns("podnet");
    ip("-n", this.#hub, "link", "add", "br0", "type", "bridge");
    ip("-n", this.#hub, "link", "set", "br0", "up");
  }

  /** A pod's network namespace with `address` on eth0, plugged into the bridge. */
  add(suffix: string, address: string): string {
    const ns = this.box.netns(suffix);
    const port = `p${++this.#ports}`;
    ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", this.#hub);
    ip("-n", this.#hub, "link", "set", port, "master", "br0", "up");
    ip("-n", ns, "addr", "add", `${address}/${this.prefixLength}`, "dev", "eth0");
    ip("-n", ns, "link", "set", "eth0", "up");
    return ns;
  }

  /** A CNI DEL for a finished pod: its address leaves the network and may go to another pod. */
  release(ns: string): void {
    ip("-n", ns, "link", "set", "eth0", "down");
    ip("-n", ns, "addr", "flush", "dev", "eth0");
  }
}
