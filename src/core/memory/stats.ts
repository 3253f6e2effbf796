/** Small robust statistics for the detectors: medians, spread and a least-squares line. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Median absolute deviation: how far values typically sit from their median, unmoved by outliers. */
export function mad(xs: readonly number[]): number {
  const m = median(xs);
  return median(xs.map((x) => Math.abs(x - m)));
}

/** Least-squares line through (t, y): slope per unit of t and R² (how well a line explains y). */
export function linearFit(points: readonly { t: number; y: number }[]): { slope: number; r2: number } {
  const n = points.length;
  if (n < 2) return { slope: 0, r2: 0 };
  let st = 0;
  let sy = 0;
  for (const p of points) {
    st += p.t;
    sy += p.y;
  }
  const mt = st / n;
  const my = sy / n;
  let stt = 0;
  let sty = 0;
  let syy = 0;
  for (const p of points) {
    stt += (p.t - mt) ** 2;
    sty += (p.t - mt) * (p.y - my);
    syy += (p.y - my) ** 2;
  }
  if (stt === 0) return { slope: 0, r2: 0 };
  const slope = sty / stt;
  const r2 = syy === 0 ? 0 : (sty * sty) / (stt * syy);
  return { slope, r2 };
}
