/**
 * Writes NetworkObservations by server-side apply (field manager `socklens-agent`): create or
 * update in one idempotent call, and no conflict with other writers of other fields.
 */
import { type KubeConfig, KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import { API_VERSION, GROUP } from "../api/v1alpha1/common.js";
import { KIND } from "../api/v1alpha1/networkobservation.js";
import type { ObservationSpec } from "../core/baseline/observation.js";
import { observationName } from "../core/baseline/observation.js";
import { apiErrorText } from "./errors.js";

export class ObservationWriter {
  readonly #api: KubernetesObjectApi;
  readonly stats = { written: 0, failed: 0, lastError: undefined as string | undefined };

  constructor(kc: KubeConfig) {
    this.#api = KubernetesObjectApi.makeApiClient(kc);
  }

  /** Never throws: a failed write is counted and the next scan writes again. */
  /** True when the API server took it. */
  async write(namespace: string, spec: ObservationSpec): Promise<boolean> {
    try {
      await this.#api.patch(
        {
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
        } as never,
        undefined,
        undefined,
        "socklens-agent",
        true,
        PatchStrategy.ServerSideApply,
      );
      this.stats.written++;
      return true;
    } catch (err) {
      this.stats.failed++;
      this.stats.lastError = apiErrorText(err);
      return false;
    }
  }
}
