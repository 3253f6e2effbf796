/**
 * The kinds socklens reads from the API server, listed once: where each lives, and how to
 * list it. The one-shot fetch (CLI) and the informers (agent, operator) both use this table,
 * so a kind added here is fetched, watched and granted in the same place.
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
} from "@kubernetes/client-node";
import { GROUP, VERSION } from "../api/v1alpha1/common.js";
import type { ClusterObjects } from "./cluster-snapshot.js";

export interface Apis {
  core: CoreV1Api;
  discovery: DiscoveryV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  custom: CustomObjectsApi;
}

export function makeApis(kc: KubeConfig): Apis {
  return {
    core: kc.makeApiClient(CoreV1Api),
    discovery: kc.makeApiClient(DiscoveryV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  };
}

type ListOf<T> = Promise<KubernetesListObject<T & KubernetesObject>>;

/** One page of a list (the API server's `limit` and `continue`): see resilientInformer. */
export interface ListPage {
  limit: number;
  _continue?: string;
}

export interface Kind<T = KubernetesObject> {
  /** The plural, as in RBAC rules and `kubectl get`. */
  name: string;
  /** The watch path (cluster-wide). */
  path: string;
  /**
   * List cluster-wide; `fieldSelector` only where the kind supports the one we use; `page`
   * for one page of a paginated list.
   */
  list(apis: Apis, fieldSelector?: string, page?: ListPage): ListOf<T>;
}

type ClusterKinds = { [K in keyof ClusterObjects]: Kind<ClusterObjects[K][number]> };

/** What cluster enrichment needs: who owns a socket and who its peer is. */
export const CLUSTER_KINDS: ClusterKinds = {
  pods: {
    name: "pods",
    path: "/api/v1/pods",
    list: (a, fieldSelector, page) =>
      a.core.listPodForAllNamespaces({ ...(fieldSelector ? { fieldSelector } : {}), ...page }),
  },
  services: {
    name: "services",
    path: "/api/v1/services",
    list: (a, _f, page) => a.core.listServiceForAllNamespaces({ ...page }),
  },
  namespaces: {
    name: "namespaces",
    path: "/api/v1/namespaces",
    list: (a, _f, page) => a.core.listNamespace({ ...page }),
  },
  slices: {
    name: "endpointslices",
    path: "/apis/discovery.k8s.io/v1/endpointslices",
    list: (a, _f, page) => a.discovery.listEndpointSliceForAllNamespaces({ ...page }),
  },
  nodes: { name: "nodes", path: "/api/v1/nodes", list: (a, _f, page) => a.core.listNode({ ...page }) },
  replicaSets: {
    name: "replicasets",
    path: "/apis/apps/v1/replicasets",
    list: (a, _f, page) => a.apps.listReplicaSetForAllNamespaces({ ...page }),
  },
  jobs: {
    name: "jobs",
    path: "/apis/batch/v1/jobs",
    list: (a, _f, page) => a.batch.listJobForAllNamespaces({ ...page }),
  },
};

/** One of our own custom resources (networkbaselines, networkobservations). */
export function customKind(plural: string): Kind {
  return {
    name: plural,
    path: `/apis/${GROUP}/${VERSION}/${plural}`,
    list: (a, _f, page) =>
      a.custom.listClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural,
        ...page,
      }) as ListOf<KubernetesObject>,
  };
}
