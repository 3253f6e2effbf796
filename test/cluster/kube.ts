// Small Kubernetes helpers for the cluster tests, on top of @kubernetes/client-node.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ApiException,
  ApiextensionsV1Api,
  type CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
  type V1Pod,
} from "@kubernetes/client-node";
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
