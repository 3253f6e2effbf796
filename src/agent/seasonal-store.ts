/**
 * Where the agent keeps its seasonal models across restarts and rollouts: one ConfigMap per
 * node, `socklens-seasonal-<node>`, in the agent's own namespace (ADR 0019 says why not the
 * NetworkObservation or a per-baseline object). The model is gzipped JSON in `binaryData`
 * and kept under MAX_BYTES (the API server refuses objects over 1 MiB): when it would be
 * larger, the least recently seen workloads are left out (they stay in memory).
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { SeasonalModels } from "../core/memory/seasonal-models.js";
import { apiErrorText } from "../kube/errors.js";
import { decodeModels, encodeModels } from "./seasonal-codec.js";

export interface SeasonalStore {
  /** The persisted JSON, or undefined when there is none yet. Throws when it cannot be read. */
  load(): Promise<unknown | undefined>;
  /** Never throws; says whether it was written. */
  save(models: SeasonalModels): Promise<boolean>;
}

/** Compressed bytes kept per node (ConfigMaps are limited to 1 MiB in all). */
export const MAX_BYTES = 900 * 1024;
const KEY = "models.json.gz";

export function seasonalConfigMapName(nodeName: string): string {
  // A ConfigMap name is a DNS subdomain (≤ 253); node names already are one.
  return `socklens-seasonal-${nodeName}`.slice(0, 253);
}

export class ConfigMapSeasonalStore implements SeasonalStore {
  readonly #api: CoreV1Api;
  readonly name: string;

  constructor(
    kc: KubeConfig,
    readonly namespace: string,
    nodeName: string,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void = () => {},
  ) {
    this.#api = kc.makeApiClient(CoreV1Api);
    this.name = seasonalConfigMapName(nodeName);
  }

  async load(): Promise<unknown | undefined> {
    let cm: Awaited<ReturnType<CoreV1Api["readNamespacedConfigMap"]>>;
    try {
      cm = await this.#api.readNamespacedConfigMap({ name: this.name, namespace: this.namespace });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw new Error(`reading ConfigMap ${this.namespace}/${this.name}: ${apiErrorText(err)}`, {
        cause: err,
      });
    }
    const data = cm.binaryData?.[KEY];
    if (data === undefined) return undefined;
    try {
      return decodeModels(data);
    } catch (err) {
      throw new Error(`ConfigMap ${this.namespace}/${this.name} key ${KEY}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async save(models: SeasonalModels): Promise<boolean> {
    const { bytes, kept, dropped } = encodeModels(models, MAX_BYTES);
    if (dropped > 0)
      this.log("seasonal model over its size bound: least recently seen workloads not persisted", {
        level: "warn",
        kept,
        dropped,
      });
    const body = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { "app.kubernetes.io/managed-by": "socklens-agent", "socklens.io/seasonal": "true" },
      },
      binaryData: { [KEY]: bytes.toString("base64") },
    };
    try {
      try {
        await this.#api.replaceNamespacedConfigMap({ name: this.name, namespace: this.namespace, body });
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
        await this.#api.createNamespacedConfigMap({ namespace: this.namespace, body });
      }
      return true;
    } catch (err) {
      this.log("seasonal model not saved", { level: "warn", error: apiErrorText(err) });
      return false;
    }
  }
}
