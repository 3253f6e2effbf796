/**
 * The agent's view of the cluster, kept current by informers. client-node's informer stops
 * on a connection error and leaves retrying to the caller: each one here restarts with a
 * capped exponential back-off (1 s → 30 s), so an API server outage is survived and the
 * caches relist and catch up when it returns. Any change marks the view dirty; the
 * ClusterIndex is rebuilt lazily, at most once per scan.
 */
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
} from "@kubernetes/client-node";
import { ClusterIndex } from "../core/cluster.js";
import { type ClusterObjects, snapshotFromObjects } from "./cluster.js";

export interface Watched {
  name: string;
  list(): readonly KubernetesObject[];
  stop(): Promise<void>;
  synced: boolean;
  lastError?: string;
}

export interface WatchOptions {
  /** Back-off bounds for restarting a failed watch. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (kind: string, message: string) => void;
}

/** An informer that restarts itself with a capped back-off; `synced` once it has listed. */
export function resilientInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  name: string,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  onChange: () => void,
  o: Required<WatchOptions>,
): Watched {
  const informer = makeInformer<T>(kc, path, list);
  let stopped = false;
  let backoff = o.minBackoffMs;
  let timer: NodeJS.Timeout | undefined;
  const w: Watched = {
    name,
    synced: false,
    list: () => informer.list(),
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await informer.stop();
    },
  };
  for (const verb of ["add", "update", "delete"] as const) informer.on(verb, onChange);
  // "connect" fires before the list; start() resolves after it: that is "synced".
  const start = () =>
    informer.start().then(
      () => {
        w.synced = true;
        backoff = o.minBackoffMs;
        delete w.lastError;
        onChange();
      },
      () => undefined, // reported through the "error" handler
    );
  informer.on("error", (err?: unknown) => {
    // stop() aborts the open watch, which reports as an error: that one is ours.
    if (stopped) return;
    const message = (err as Error | undefined)?.message ?? String(err);
    w.lastError = message;
    o.onError(name, message);
    timer = setTimeout(() => {
      if (!stopped) void start();
    }, backoff);
    backoff = Math.min(o.maxBackoffMs, backoff * 2);
  });
  void start();
  return w;
}

export function watchDefaults(options: WatchOptions = {}): Required<WatchOptions> {
  return { minBackoffMs: 1000, maxBackoffMs: 30_000, onError: () => {}, ...options };
}

export class ClusterWatcher {
  readonly #watched: Watched[];
  #dirty = true;
  #index: ClusterIndex | undefined;

  constructor(
    kc: KubeConfig,
    private readonly hostAddresses: string[],
    options: WatchOptions = {},
  ) {
    const o: Required<WatchOptions> = {
      minBackoffMs: 1000,
      maxBackoffMs: 30_000,
      onError: () => {},
      ...options,
    };
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const batch = kc.makeApiClient(BatchV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const dirty = () => {
      this.#dirty = true;
    };
    // Every pod, not only this node's: peers on other nodes are resolved by pod IP.
    this.#watched = [
      resilientInformer(kc, "pods", "/api/v1/pods", () => core.listPodForAllNamespaces(), dirty, o),
      resilientInformer(
        kc,
        "services",
        "/api/v1/services",
        () => core.listServiceForAllNamespaces(),
        dirty,
        o,
      ),
      resilientInformer(kc, "namespaces", "/api/v1/namespaces", () => core.listNamespace(), dirty, o),
      resilientInformer(
        kc,
        "endpointslices",
        "/apis/discovery.k8s.io/v1/endpointslices",
        () => discovery.listEndpointSliceForAllNamespaces(),
        dirty,
        o,
      ),
      resilientInformer(kc, "nodes", "/api/v1/nodes", () => core.listNode(), dirty, o),
      resilientInformer(
        kc,
        "replicasets",
        "/apis/apps/v1/replicasets",
        () => apps.listReplicaSetForAllNamespaces(),
        dirty,
        o,
      ),
      resilientInformer(kc, "jobs", "/apis/batch/v1/jobs", () => batch.listJobForAllNamespaces(), dirty, o),
      resilientInformer(
        kc,
        "networkbaselines",
        "/apis/socklens.io/v1alpha1/networkbaselines",
        () =>
          custom.listClusterCustomObject({
            group: "socklens.io",
            version: "v1alpha1",
            plural: "networkbaselines",
          }) as Promise<KubernetesListObject<KubernetesObject>>,
        dirty,
        o,
      ),
    ];
  }

  #items<T>(name: string): T[] {
    return [...(this.#watched.find((w) => w.name === name)?.list() ?? [])] as T[];
  }

  /** True once pods and baselines have been listed at least once. */
  get synced(): boolean {
    return this.#watched
      .filter((w) => w.name === "pods" || w.name === "networkbaselines")
      .every((w) => w.synced);
  }

  status(): { kind: string; synced: boolean; lastError?: string }[] {
    return this.#watched.map((w) => ({
      kind: w.name,
      synced: w.synced,
      ...(w.lastError ? { lastError: w.lastError } : {}),
    }));
  }

  index(): ClusterIndex {
    if (this.#dirty || !this.#index) {
      const objects: ClusterObjects = {
        pods: this.#items("pods"),
        services: this.#items("services"),
        namespaces: this.#items("namespaces"),
        slices: this.#items("endpointslices"),
        nodes: this.#items("nodes"),
        replicaSets: this.#items("replicasets"),
        jobs: this.#items("jobs"),
      };
      this.#index = new ClusterIndex(snapshotFromObjects(objects), this.hostAddresses);
      this.#dirty = false;
    }
    return this.#index;
  }

  baselines(): unknown[] {
    return this.#items("networkbaselines");
  }

  async stop(): Promise<void> {
    await Promise.all(this.#watched.map((w) => w.stop()));
  }
}
