/**
 * The agent's view of the cluster, kept current by informers. client-node's informer stops
 * on a connection error and leaves retrying to the caller: each one here restarts with a
 * capped exponential back-off (1 s → 30 s), so an API server outage is survived and the
 * caches relist and catch up when it returns. Any change marks the view dirty; the
 * ClusterIndex is rebuilt lazily, at most once per scan.
 */
import {
  type CoreV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  makeInformer,
  type V1Pod,
  Watch,
} from "@kubernetes/client-node";
import { PLURAL as BASELINES } from "../api/v1alpha1/networkbaseline.js";
import { ClusterIndex } from "../core/cluster-index.js";
import { type ClusterObjects, snapshotFromObjects } from "./cluster-snapshot.js";
import { CLUSTER_KINDS, customKind, type Kind, type ListPage, makeApis } from "./kinds.js";

export interface Watched {
  name: string;
  /** Cached objects, all or one namespace's (the informer keeps them by namespace). */
  list(namespace?: string): readonly KubernetesObject[];
  stop(): Promise<void>;
  synced: boolean;
  lastError?: string;
}

export interface WatchOptions {
  /** Back-off bounds for restarting a failed watch. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (kind: string, message: string) => void;
  /** Objects per page of a list that has a transform (pagedList); 500 as client-go's. */
  pageSize?: number;
}

/** An informer that restarts itself with a capped back-off; `synced` once it has listed. */
export function resilientInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  name: string,
  path: string,
  /** One list, or with `page` one page of it (used when there is a transform). */
  list: (page?: ListPage) => Promise<KubernetesListObject<T>>,
  /** Called with the object and verb on add/update/delete, and without them after each (re)list. */
  onChange: (obj?: T, verb?: "add" | "update" | "delete") => void,
  o: Required<WatchOptions>,
  fieldSelector?: string,
  /**
   * What the cache keeps of each object (client-go's SetTransform): applied to every listed
   * and watched object before it is stored, so a cache of 10,000 objects holds only the
   * fields its reader uses. Must keep metadata.name, namespace and resourceVersion.
   */
  transform?: (obj: T) => T,
): Watched {
  // ListWatch is client-node's informer; constructed directly for the field selector and the
  // transform (makeInformer is exactly this without them).
  const informer =
    fieldSelector || transform
      ? new ListWatch<T>(
          path,
          transform ? transformingWatch(kc, transform) : new Watch(kc),
          transform ? () => pagedList(list, transform, o.pageSize) : list,
          false,
          undefined,
          fieldSelector,
        )
      : makeInformer<T>(kc, path, list);
  let stopped = false;
  let backoff = o.minBackoffMs;
  let timer: NodeJS.Timeout | undefined;
  const w: Watched = {
    name,
    synced: false,
    list: (namespace?: string) => informer.list(namespace),
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await informer.stop();
    },
  };
  for (const verb of ["add", "update", "delete"] as const) informer.on(verb, (obj: T) => onChange(obj, verb));
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

/**
 * The whole list a page at a time, each page transformed before the next is asked for: the
 * operator's first list of 10,000 pods at 500 nodes, deserialized whole, ran its 128 MiB heap
 * out of memory before the transform could slim it. As client-go's reflector, 500 a page; the
 * pages of one list are one snapshot (the API server's continue token), and its
 * resourceVersion is where the watch starts.
 */
async function pagedList<T extends KubernetesObject>(
  list: (page?: ListPage) => Promise<KubernetesListObject<T>>,
  transform: (obj: T) => T,
  limit: number,
): Promise<KubernetesListObject<T>> {
  const items: T[] = [];
  let page = await list({ limit });
  for (;;) {
    for (const item of page.items) items.push(transform(item));
    // client-node's typed lists name it `_continue`; custom objects come back as raw JSON,
    // where it is `continue`.
    const meta = page.metadata as { _continue?: string; continue?: string } | undefined;
    const next = meta?._continue ?? meta?.continue;
    if (!next) break;
    page = await list({ limit, _continue: next });
  }
  return { ...page, items };
}

/** A Watch whose ADDED/MODIFIED/DELETED objects pass through `transform` first. */
function transformingWatch<T>(kc: KubeConfig, transform: (obj: T) => T): Watch {
  const w = new Watch(kc);
  const watch = w.watch.bind(w);
  w.watch = (path, query, callback, done) =>
    watch(
      path,
      query,
      (phase: string, obj: unknown, raw: unknown) =>
        callback(
          phase,
          phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED" ? transform(obj as T) : obj,
          raw,
        ),
      done,
    );
  return w;
}

export interface ClusterWatcherOptions extends WatchOptions {
  /** Watch only this node's pods; peers elsewhere are looked up by IP (see resolvePeers). */
  nodeName?: string;
  /** The clock tombstones expire by (tests). */
  now?: () => number;
}

/** Pods on other nodes, found by IP on demand and cached (including "no pod has this IP"). */
class RemotePods {
  readonly #cache = new Map<string, { pod?: V1Pod; at: number }>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly changed: () => void,
    private readonly ttlMs = 60_000,
    private readonly concurrency = 8,
  ) {}

  async resolve(addresses: string[]): Promise<void> {
    const now = Date.now();
    const todo = addresses.filter((a) => {
      const hit = this.#cache.get(a);
      return !hit || now - hit.at > this.ttlMs;
    });
    let changed = false;
    for (let i = 0; i < todo.length; i += this.concurrency) {
      await Promise.all(
        todo.slice(i, i + this.concurrency).map(async (ip) => {
          try {
            const list = await this.core.listPodForAllNamespaces({ fieldSelector: `status.podIP=${ip}` });
            // hostNetwork pods share their node's IP: that address is the node, not a pod.
            const pod = list.items.find((p) => !p.spec?.hostNetwork);
            const before = this.#cache.get(ip)?.pod?.metadata?.resourceVersion;
            this.#cache.set(ip, pod ? { pod, at: now } : { at: now });
            if (before !== pod?.metadata?.resourceVersion) changed = true;
          } catch {
            // The API server is unreachable: try again next scan.
          }
        }),
      );
    }
    for (const [ip, v] of this.#cache) if (now - v.at > 10 * this.ttlMs) this.#cache.delete(ip);
    if (changed) this.changed();
  }

  pods(): V1Pod[] {
    return [...this.#cache.values()].flatMap((v) => (v.pod ? [v.pod] : []));
  }
}

export function watchDefaults(options: WatchOptions = {}): Required<WatchOptions> {
  return { minBackoffMs: 1000, maxBackoffMs: 30_000, onError: () => {}, pageSize: 500, ...options };
}

/**
 * How long a deleted pod keeps its identity for its IP. After a rollout a client's TIME_WAIT
 * sockets to the old pods linger for 60 s (TCP's 2×MSL on Linux); without the tombstone they
 * would resolve to nothing and be flagged as unknown peers.
 */
export const POD_TOMBSTONE_MS = 120_000;

export class ClusterWatcher {
  readonly #watched: Watched[];
  readonly #tombstones = new Map<string, { pod: V1Pod; until: number }>();
  readonly #now: () => number;
  #dirty = true;
  #index: ClusterIndex | undefined;
  /** Called after any pod or node event: the agent wakes early when a burst annotation changes. */
  readonly #podOrNodeListeners = new Set<() => void>();

  readonly #remote: RemotePods | undefined;

  constructor(
    kc: KubeConfig,
    private readonly hostAddresses: string[],
    options: ClusterWatcherOptions = {},
  ) {
    const o = watchDefaults(options);
    const apis = makeApis(kc);
    this.#now = options.now ?? Date.now;
    const dirty = () => {
      this.#dirty = true;
    };
    const podChanged = (pod?: KubernetesObject, verb?: string) => {
      const uid = pod?.metadata?.uid;
      if (uid && verb === "delete")
        this.#tombstones.set(uid, { pod: pod as V1Pod, until: this.#now() + POD_TOMBSTONE_MS });
      else if (uid) this.#tombstones.delete(uid); // re-added (a relist after an outage)
      dirty();
      this.#notify();
    };
    const nodeChanged = () => {
      dirty();
      this.#notify();
    };
    // With a node name, watch only this node's pods (as Inspektor Gadget does) and look up
    // peers on other nodes by IP when a socket needs them; without one, watch every pod.
    const nodeSelector = options.nodeName ? `spec.nodeName=${options.nodeName}` : undefined;
    if (options.nodeName) this.#remote = new RemotePods(apis.core, dirty);
    const watch = (kind: Kind, fieldSelector?: string, onChange: typeof podChanged = dirty) =>
      resilientInformer(
        kc,
        kind.name,
        kind.path,
        (page) => kind.list(apis, fieldSelector, page),
        onChange,
        o,
        fieldSelector,
      );
    this.#watched = [
      ...Object.values(CLUSTER_KINDS).map((kind) =>
        kind === CLUSTER_KINDS.pods
          ? watch(kind as Kind, nodeSelector, podChanged)
          : kind === CLUSTER_KINDS.nodes
            ? watch(kind as Kind, undefined, nodeChanged)
            : watch(kind as Kind),
      ),
      watch(customKind(BASELINES)),
    ];
  }

  #notify(): void {
    for (const listener of this.#podOrNodeListeners) listener();
  }

  /**
   * Be told of every pod and node event (after the cache holds it). Returns the unsubscribe.
   * The listener runs on the informer's stack: keep it cheap and let it throw nothing.
   */
  onPodOrNodeChange(listener: () => void): () => void {
    this.#podOrNodeListeners.add(listener);
    return () => this.#podOrNodeListeners.delete(listener);
  }

  #items<T>(name: string): T[] {
    return [...(this.#watched.find((w) => w.name === name)?.list() ?? [])] as T[];
  }

  /** True once pods and baselines have been listed at least once. */
  get synced(): boolean {
    return this.#watched
      .filter((w) => w.name === CLUSTER_KINDS.pods.name || w.name === BASELINES)
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
    const now = this.#now();
    for (const [uid, t] of this.#tombstones)
      if (t.until <= now) {
        this.#tombstones.delete(uid);
        this.#dirty = true;
      }
    if (this.#dirty || !this.#index) {
      const local = this.#items<V1Pod>(CLUSTER_KINDS.pods.name);
      const localUids = new Set(local.map((p) => p.metadata?.uid));
      // Deleted pods stay as tombstones (marked gone) so their lingering sockets keep a name;
      // a live pod that took over the IP wins (ClusterIndex, newerClaim).
      const tombstones = [...this.#tombstones.values()]
        .filter((t) => !localUids.has(t.pod.metadata?.uid))
        .map((t) => ({
          ...t.pod,
          metadata: {
            ...t.pod.metadata,
            deletionTimestamp: t.pod.metadata?.deletionTimestamp ?? new Date(t.until - POD_TOMBSTONE_MS),
          },
        }));
      const objects: ClusterObjects = {
        pods: [
          ...local,
          ...tombstones,
          ...(this.#remote?.pods() ?? []).filter((p) => !localUids.has(p.metadata?.uid)),
        ],
        services: this.#items(CLUSTER_KINDS.services.name),
        namespaces: this.#items(CLUSTER_KINDS.namespaces.name),
        slices: this.#items(CLUSTER_KINDS.slices.name),
        nodes: this.#items(CLUSTER_KINDS.nodes.name),
        replicaSets: this.#items(CLUSTER_KINDS.replicaSets.name),
        jobs: this.#items(CLUSTER_KINDS.jobs.name),
      };
      this.#index = new ClusterIndex(snapshotFromObjects(objects), this.hostAddresses);
      this.#dirty = false;
    }
    return this.#index;
  }

  /**
   * Make sure the pods behind these remote addresses are known (node-scoped mode only):
   * unknown addresses are looked up by `status.podIP`, answers (found or not) cached for a
   * minute. Call before index() for a scan's peers.
   */
  async resolvePeers(addresses: Iterable<string>): Promise<void> {
    if (!this.#remote) return;
    const index = this.index();
    const unknown = [...new Set(addresses)].filter((a) => !index.peer(a) && !index.isHost(a));
    await this.#remote.resolve(unknown);
  }

  baselines(): unknown[] {
    return this.#items(BASELINES);
  }

  /**
   * One annotation's values on the watched pods (by uid: this node's, in node-scoped mode)
   * and on one node — the agent's burst trigger reads `socklens.io/burst` this way.
   */
  annotation(key: string, nodeName: string): { pods: Map<string, string>; node?: string } {
    const pods = new Map<string, string>();
    for (const p of this.#items<V1Pod>(CLUSTER_KINDS.pods.name)) {
      const v = p.metadata?.annotations?.[key];
      if (v !== undefined && p.metadata?.uid) pods.set(p.metadata.uid, v);
    }
    const node = this.#items<{ metadata?: { name?: string; annotations?: Record<string, string> } }>(
      CLUSTER_KINDS.nodes.name,
    ).find((n) => n.metadata?.name === nodeName)?.metadata?.annotations?.[key];
    return node === undefined ? { pods } : { pods, node };
  }

  async stop(): Promise<void> {
    await Promise.all(this.#watched.map((w) => w.stop()));
  }
}
