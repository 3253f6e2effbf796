import { describe, expect, it } from "vitest";
import { SeasonalModels } from "../core/memory/seasonal-models.js";
import { decodeModels, encodeModels } from "./seasonal-codec.js";

const T0 = Date.parse("2026-11-02T00:00:00Z");
const HOUR = 3_600_000;

/** `n` workloads with a week of noisy hourly samples; workload i last seen at hour 168 + i. */
function models(n: number): SeasonalModels {
  const m = new SeasonalModels();
  let x = 7;
  for (let w = 0; w < n; w++)
    for (let h = 0; h <= 168 + w; h++) {
      x = (x * 1103515245 + 12345) % 2 ** 31; // noise, so gzip cannot fold the series away
      m.learn(`ns/w${w}`, { ESTABLISHED: x % 500, TIME_WAIT: (x >> 9) % 300 }, T0 + h * HOUR);
    }
  return m;
}

describe("seasonal model bytes", () => {
  it("round-trips through gzip and base64", () => {
    const m = models(2);
    const { bytes, kept, dropped } = encodeModels(m, 1 << 20);
    expect({ kept, dropped }).toEqual({ kept: 2, dropped: 0 });
    const back = new SeasonalModels();
    back.load(decodeModels(bytes.toString("base64")), T0 + 200 * HOUR);
    expect(back.toJSON()).toEqual(m.toJSON());
  });

  it("stays under its bound by leaving out the least recently seen workloads", () => {
    const m = models(12);
    const all = encodeModels(m, 1 << 20).bytes.length;
    const { bytes, kept, dropped } = encodeModels(m, Math.floor(all / 3));
    expect(bytes.length).toBeLessThanOrEqual(Math.floor(all / 3));
    expect(kept).toBeGreaterThan(0);
    expect(kept + dropped).toBe(12);
    const names = Object.keys((decodeModels(bytes.toString("base64")) as { models: object }).models);
    // Kept: the newest (w11 was seen last), never an older one in place of a newer one.
    expect(names.sort()).toEqual(Array.from({ length: kept }, (_, i) => `ns/w${11 - i}`).sort());
  });

  it("refuses bytes that are not gzip", () => {
    expect(() => decodeModels("bm90IGd6aXA=")).toThrow();
  });
});
