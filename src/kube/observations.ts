/**
 * Writes NetworkObservations by server-side apply (field manager `socklens-agent`): create or
 * update in one idempotent call, and no conflict with other writers of other fields.
 */
import { type KubeConfig, KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import { API_VERSION, GROUP } from "../api/v1alpha1/common.js";
import { KIND as BASELINE_KIND } from "../api/v1alpha1/networkbaseline.js";
import { KIND } from "../api/v1alpha1/networkobservation.js";
import type { ObservationSpec } from "../core/baseline/observation.js";
import { observationName } from "../core/baseline/observation.js";
import { apiErrorText, apiFailure } from "./errors.js";

export interface ObservationWriterOptions {
  log?: (message: string, fields?: Record<string, unknown>) => void;
  /** Dry run (`agent --dry-run`): each object that would be applied goes here instead of the API server. */
  dryRun?: (object: ObservationObject) => void;
}

/** The baseline an observation belongs to: its owner, so deleting the baseline garbage-collects it. */
export interface ObservationOwner {
  name: string;
  uid: string;
}

export interface ObservationObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences?: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: boolean;
    }[];
  };
  spec: ObservationSpec;
}

/**
 * The object the agent applies. The owner reference is a controller reference (an observation
 * belongs to exactly one baseline, and `kubectl describe` says "Controlled By") without
 * blockOwnerDeletion: setting that needs `update` on networkbaselines/finalizers where the
 * OwnerReferencesPermissionEnforcement admission plugin runs, which the agent has no business
 * holding, and a baseline's foreground deletion need not wait for its evidence (ADR 0015).
 */
export function observationObject(
  namespace: string,
  spec: ObservationSpec,
  owner?: ObservationOwner,
): ObservationObject {
  const object: ObservationObject = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: observationName(spec.baseline, spec.nodeName),
      namespace,
      labels: {
        [`${GROUP}/baseline`]: spec.baseline.slice(0, 63),
        [`${GROUP}/node`]: spec.nodeName.slice(0, 63),
      },
    },
    spec,
  };
  if (owner?.uid)
    object.metadata.ownerReferences = [
      { apiVersion: API_VERSION, kind: BASELINE_KIND, name: owner.name, uid: owner.uid, controller: true },
    ];
  return object;
}

export class ObservationWriter {
  readonly #api: KubernetesObjectApi;
  readonly #dryRun: ObservationWriterOptions["dryRun"];
  readonly #log: NonNullable<ObservationWriterOptions["log"]>;
  /** Kinds of failure already logged, until every failing observation has been written. */
  readonly #logged = new Set<string>();
  /** Observations whose last write failed. */
  readonly #failing = new Set<string>();
  readonly stats = { written: 0, failed: 0, lastError: undefined as string | undefined };

  constructor(kc: KubeConfig, options: ObservationWriterOptions = {}) {
    this.#api = KubernetesObjectApi.makeApiClient(kc);
    this.#log = options.log ?? (() => {});
    this.#dryRun = options.dryRun;
  }

  /**
   * Never throws; says whether the API server took it. A failed write is counted and the
   * next window writes again. The first failure of each kind is logged with the API server's
   * message (a 422 repeats every window until the schema or the object changes; one line
   * says it, the count says how often). Once every observation that failed has been written
   * again, the next failure is news and is logged.
   */
  async write(namespace: string, spec: ObservationSpec, owner?: ObservationOwner): Promise<boolean> {
    const object = observationObject(namespace, spec, owner);
    const name = object.metadata.name;
    if (this.#dryRun) {
      this.#dryRun(object);
      return true;
    }
    try {
      await this.#api.patch(
        object as never,
        undefined,
        undefined,
        "socklens-agent",
        true,
        PatchStrategy.ServerSideApply,
      );
      this.stats.written++;
      if (this.#failing.delete(`${namespace}/${name}`) && this.#failing.size === 0) {
        this.#log("observation writes recovered", { failed: this.stats.failed });
        this.#logged.clear();
      }
      return true;
    } catch (err) {
      this.stats.failed++;
      this.stats.lastError = apiErrorText(err);
      this.#failing.add(`${namespace}/${name}`);
      const { kind, message } = apiFailure(err);
      if (this.#logged.has(kind)) return false;
      this.#logged.add(kind);
      this.#log("observation write failed", {
        level: "warn",
        observation: `${namespace}/${name}`,
        kind,
        error: message,
        failed: this.stats.failed,
      });
      return false;
    }
  }
}
