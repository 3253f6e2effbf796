/**
 * The seasonal model's bytes: gzipped JSON, kept under a size bound by leaving out the least
 * recently seen workloads. Shared by the agent's ConfigMap and `socklens learn --seasonal`
 * (an annotation on the baseline it writes). zlib only: no Kubernetes client here, so the CLI
 * can load it cheaply.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import type { SeasonalModels } from "../core/memory/seasonal-models.js";

/** The annotation `socklens learn --seasonal` writes the model into (base64 of gzipped JSON). */
export const SEASONAL_ANNOTATION = "socklens.io/seasonal-model";

/** The model's bytes under `maxBytes`, dropping the least recently seen workloads first. */
export function encodeModels(
  models: SeasonalModels,
  maxBytes: number,
): { bytes: Buffer; kept: number; dropped: number } {
  const all = models.workloads();
  let n = all.length;
  for (;;) {
    const bytes = gzipSync(JSON.stringify(models.toJSON(all.slice(0, n))));
    if (bytes.length <= maxBytes || n === 0) return { bytes, kept: n, dropped: all.length - n };
    // Shrink in proportion to the overshoot, at least by one workload.
    n = Math.min(n - 1, Math.floor((n * maxBytes) / bytes.length));
  }
}

/** base64 of gzipped JSON → the JSON value (validated by SeasonalModels.load, not here). */
export function decodeModels(data: string): unknown {
  const raw = gunzipSync(Buffer.from(data, "base64"), { maxOutputLength: 64 * 1024 * 1024 });
  return JSON.parse(raw.toString("utf8"));
}
