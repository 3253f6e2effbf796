/**
 * Writes NetworkObservations by server-side apply (field manager `socklens-agent`): create or
 * update in one idempotent call, and no conflict with other writers of other fields.
 */
import { type KubeConfig, KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import { API_VERSION, GROUP } from "../api/v1alpha1/common.js";
import { KIND } from "../api/v1alpha1/networkobservation.js";
import type { ObservationSpec } from "../core/baseline/observation.js";
import { observationName } from "../core/baseline/observation.js";
import { apiErrorText, apiFailure } from "./errors.js";

export interface ObservationWriterOptions {
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export class ObservationWriter {
  readonly #api: KubernetesObjectApi;
  readonly #log: NonNullable<ObservationWriterOptions["log"]>;
  /** Kinds of failure already logged, until every failing observation has been written. */
  readonly #logged = new Set<string>();
  /** Observations whose last write failed. */
  readonly #failing = new Set<string>();
  readonly stats = { written: 0, failed: 0, lastError: undefined as string | undefined };

  constructor(kc: KubeConfig, options: ObservationWriterOptions = {}) {
    this.#api = KubernetesObjectApi.makeApiClient(kc);
    this.#log = options.log ?? (() => {});
  }

  /**
   * Never throws; says whether the API server took it. A failed write is counted and the
   * next window writes again. The first failure of each kind is logged with the API server's
   * message (a 422 repeats every window until the schema or the object changes; one line
   * says it, the count says how often). Once every observation that failed has been written
   * again, the next failure is news and is logged.
   */
  async write(namespace: string, spec: ObservationSpec): Promise<boolean> {
    const name = observationName(spec.baseline, spec.nodeName);
    try {
      await this.#api.patch(
        {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: {
            name,
            namespace,
            labels: {
              [`${GROUP}/baseline`]: spec.baseline.slice(0, 63),
              [`${GROUP}/node`]: spec.nodeName.slice(0, 63),
            },
          },
          spec,
        } as never,
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
