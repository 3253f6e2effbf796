/**
 * Acknowledging a finding pattern: the `spec.exceptions` entry `socklens ack` writes, and where
 * it goes in an existing list. Shared by the host path (a baseline file) and the cluster path
 * (a NetworkBaseline object), so both write the same entry. Pure: the clock is passed in.
 */
import { parseDuration } from "../../api/v1alpha1/common.js";
import { type BaselineException, MAX_EXCEPTIONS, VERDICTS } from "../../api/v1alpha1/networkbaseline.js";
import { MASKED_V4, MASKED_V6 } from "../mask.js";
import { isExpired, type Pattern, parsePatternKey, patternKey, patternOfException } from "./patterns.js";

/** The annotation that says when a human last reviewed the baseline (ADR 0021). */
export const REVIEWED_AT_ANNOTATION = "socklens.io/reviewed-at";
export const REVIEWED_BY_ANNOTATION = "socklens.io/reviewed-by";

/** Without --expires an acknowledgement lasts this long: benign today is not benign forever. */
export const DEFAULT_ACK_DAYS = 90;

export interface AckRequest {
  key: string;
  reason: string;
  /** "30d", an RFC 3339 time, "never"; absent: DEFAULT_ACK_DAYS. */
  expires?: string;
  by?: string;
  confirm?: boolean;
}

/** RFC 3339 in UTC to the second, the form the CRD and `validate` accept. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** The expiry an --expires value gives, or an Error message. */
export function resolveExpiry(value: string | undefined, now: Date): string | undefined {
  if (value === undefined) return rfc3339(now.getTime() + DEFAULT_ACK_DAYS * 86_400_000);
  if (value === "never") return undefined;
  const d = parseDuration(value);
  if (d !== null) {
    if (d <= 0) throw new Error(`--expires: ${JSON.stringify(value)} is not a positive duration`);
    return rfc3339(now.getTime() + d);
  }
  const t = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && Number.isFinite(t)) {
    if (t <= now.getTime()) throw new Error(`--expires: ${value} is in the past`);
    return value;
  }
  throw new Error(
    `--expires: ${JSON.stringify(value)} is neither a duration such as 30d, an RFC 3339 time such as 2027-01-31T00:00:00Z, nor "never"`,
  );
}

/** The exception an acknowledgement writes. Throws an Error saying what is wrong. */
export function ackException(req: AckRequest, now: Date): BaselineException {
  const pattern = parsePatternKey(req.key);
  if (pattern.address === MASKED_V4 || pattern.address === MASKED_V6)
    throw new Error(
      `the key's address is masked (${pattern.address}, --mask or SOCKLENS_MASK); acknowledge the key an unmasked run printed`,
    );
  const reason = req.reason.trim();
  if (reason === "")
    throw new Error("--reason: say why the finding is benign (or, with --confirm, what the incident was)");
  const expires = resolveExpiry(req.expires, now);
  const verdict = req.confirm ? VERDICTS[1] : VERDICTS[0];
  return {
    rule: pattern.rule,
    ...(pattern.address !== undefined ? { address: pattern.address } : {}),
    ...(pattern.port !== undefined ? { port: pattern.port } : {}),
    ...(pattern.process !== undefined ? { process: pattern.process } : {}),
    reason,
    ...(expires !== undefined ? { expires } : {}),
    verdict,
    ...(req.by ? { by: req.by } : {}),
    created: rfc3339(now.getTime()),
  };
}

function samePattern(a: Pattern, b: Pattern): boolean {
  return patternKey(a) === patternKey(b);
}

/**
 * Where the new entry goes: over an entry with the same pattern and verdict (a renewed or
 * re-worded acknowledgement replaces the old one, so repeated acks do not pile up), else at
 * the end. Refuses a full list rather than dropping someone's entry.
 */
export function placeException(
  existing: readonly BaselineException[],
  e: BaselineException,
): { index: number; replaced: boolean } {
  const index = existing.findIndex(
    (x) =>
      samePattern(patternOfException(x), patternOfException(e)) &&
      (x.verdict ?? "Benign") === (e.verdict ?? "Benign"),
  );
  if (index >= 0) return { index, replaced: true };
  if (existing.length >= MAX_EXCEPTIONS)
    throw new Error(
      `spec.exceptions already holds ${existing.length} entries, the most a baseline may have; remove expired ones (socklens report lists them) or widen one`,
    );
  return { index: existing.length, replaced: false };
}

export interface AckSummary {
  active: number;
  expired: number;
  confirmed: number;
  patterns: {
    pattern: string;
    verdict: "Benign" | "Confirmed";
    state: "Active" | "Expired";
    reason: string;
    by?: string;
    expires?: string;
  }[];
}

/** What the operator reports in status.acknowledged: each exception and whether it is in force. */
export function summarizeExceptions(exceptions: readonly BaselineException[], now: Date): AckSummary {
  const out: AckSummary = { active: 0, expired: 0, confirmed: 0, patterns: [] };
  for (const e of exceptions) {
    const verdict = e.verdict ?? "Benign";
    const expired = isExpired(e, now);
    if (expired) out.expired++;
    else if (verdict === "Confirmed") out.confirmed++;
    else out.active++;
    out.patterns.push({
      pattern: patternKey(patternOfException(e)),
      verdict,
      state: expired ? "Expired" : "Active",
      reason: e.reason,
      ...(e.by !== undefined ? { by: e.by } : {}),
      ...(e.expires !== undefined ? { expires: e.expires } : {}),
    });
  }
  return out;
}

/** The next time an exception expires after now, so a reconcile can be scheduled for it. */
export function nextExpiry(exceptions: readonly BaselineException[], now: Date): number | undefined {
  let next: number | undefined;
  for (const e of exceptions) {
    if (e.expires === undefined) continue;
    const t = Date.parse(e.expires);
    if (t > now.getTime() && (next === undefined || t < next)) next = t;
  }
  return next;
}
