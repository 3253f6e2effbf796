/**
 * Burst collection: which pods the agent scans every second for a while, and why. No I/O and
 * no clock of its own (times are passed in); the agent turns what it returns into scans and
 * Events. docs/detectors.md ("Burst collection") and ADR 0020 explain the choices.
 *
 * Triggers:
 * - a new finding of severity medium or high on a pod: a burst of `findingDurationMs`, unless
 *   the pod's last finding-triggered burst ended less than `cooldownMs` ago (a finding that
 *   flaps must not keep a pod in burst for ever);
 * - the annotation `socklens.io/burst: "<duration>"` on a pod: one burst of that duration
 *   (at most `maxDurationMs`) per annotation value; removing the annotation ends it early, and
 *   setting it again (or to another value) starts another;
 * - the same annotation on the node: every pod on the node, i.e. full scans every second.
 *
 * At most `maxConcurrent` pod bursts run at once on a node (a node-wide burst counts as one);
 * a trigger beyond the cap is refused and logged, not queued: by the time a slot is free the
 * moment that justified it has passed.
 */
import { parseDuration } from "../api/v1alpha1/common.js";
import type { Severity } from "../core/baseline/types.js";

export const BURST_ANNOTATION = "socklens.io/burst";

export interface BurstOptions {
  /** Scan period during a burst. */
  intervalMs: number;
  /** How long a burst triggered by a finding lasts. */
  findingDurationMs: number;
  /** A pod's finding-triggered bursts are at least this far apart (end to start). */
  cooldownMs: number;
  /** Longest burst an annotation may ask for. */
  maxDurationMs: number;
  /** Concurrent bursts per node. */
  maxConcurrent: number;
}

export const DEFAULT_BURST_OPTIONS: BurstOptions = {
  intervalMs: 1_000,
  findingDurationMs: 5 * 60_000,
  cooldownMs: 10 * 60_000,
  maxDurationMs: 60 * 60_000,
  maxConcurrent: 4,
};

export interface BurstPod {
  uid: string;
  namespace: string;
  name: string;
}

export type BurstTarget = { kind: "Pod"; pod: BurstPod } | { kind: "Node"; name: string };

export interface Burst {
  id: string;
  target: BurstTarget;
  /** Why, in words for the Event: "new finding Beaconing (medium): …", "annotation socklens.io/burst=5m". */
  reason: string;
  trigger: "finding" | "annotation";
  startedAt: number;
  until: number;
  /** The annotation value that started it (annotation bursts). */
  annotation?: string;
  scans: number;
  findings: number;
}

export interface BurstEnd {
  burst: Burst;
  at: number;
  why: "elapsed" | "annotation removed" | "pod gone";
}

export interface Refusal {
  target: BurstTarget;
  reason: string;
}

/** What the annotation asks for: a duration, clamped; or why it cannot be used. */
export function parseBurstAnnotation(
  value: string,
  maxMs: number,
): { ms: number; clamped: boolean } | { problem: string } {
  const ms = parseDuration(value.trim());
  if (ms === null || ms <= 0)
    return { problem: `${BURST_ANNOTATION}: "${value.slice(0, 64)}" is not a positive duration such as 5m` };
  return ms > maxMs ? { ms: maxMs, clamped: true } : { ms, clamped: false };
}

const SEVERE: ReadonlySet<Severity> = new Set(["medium", "high"]);

function targetId(t: BurstTarget): string {
  return t.kind === "Pod" ? `pod:${t.pod.uid}` : `node:${t.name}`;
}

function durationText(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export class BurstScheduler {
  readonly o: BurstOptions;
  readonly #active = new Map<string, Burst>();
  /** When each pod's last finding-triggered burst ended. */
  readonly #lastEnded = new Map<string, number>();
  /** Annotation values that already ran (target id → value), so one value is one burst. */
  readonly #annotationDone = new Map<string, string>();
  /** Annotation values already reported as unusable. */
  readonly #invalid = new Map<string, string>();
  #seq = 0;

  constructor(options: Partial<BurstOptions> = {}) {
    this.o = { ...DEFAULT_BURST_OPTIONS, ...options };
  }

  active(): Burst[] {
    return [...this.#active.values()];
  }

  get nodeWide(): boolean {
    return [...this.#active.values()].some((b) => b.target.kind === "Node");
  }

  /** The pods under a pod burst (by uid). */
  podUids(): Set<string> {
    const out = new Set<string>();
    for (const b of this.#active.values()) if (b.target.kind === "Pod") out.add(b.target.pod.uid);
    return out;
  }

  #start(
    target: BurstTarget,
    trigger: Burst["trigger"],
    reason: string,
    now: number,
    ms: number,
    annotation?: string,
  ): Burst | Refusal {
    if (this.#active.size >= this.o.maxConcurrent)
      return {
        target,
        reason: `${this.#active.size} bursts already run on this node (the cap is ${this.o.maxConcurrent})`,
      };
    const b: Burst = {
      id: `${targetId(target)}#${++this.#seq}@${now}`,
      target,
      reason,
      trigger,
      startedAt: now,
      until: now + ms,
      scans: 0,
      findings: 0,
      ...(annotation !== undefined ? { annotation } : {}),
    };
    this.#active.set(targetId(target), b);
    return b;
  }

  /** A new finding on a pod. Returns the burst it started, a refusal, or nothing (not a trigger). */
  onFinding(
    pod: BurstPod,
    f: { rule: string; severity: Severity; message: string },
    now: number,
  ): Burst | Refusal | undefined {
    if (!SEVERE.has(f.severity) || this.o.maxConcurrent === 0) return undefined;
    const id = targetId({ kind: "Pod", pod });
    if (this.#active.has(id) || this.nodeWide) return undefined;
    const ended = this.#lastEnded.get(id);
    if (ended !== undefined && now - ended < this.o.cooldownMs) return undefined;
    return this.#start(
      { kind: "Pod", pod },
      "finding",
      `new finding ${f.rule} (${f.severity}): ${f.message}`,
      now,
      this.o.findingDurationMs,
    );
  }

  /**
   * The annotations as they are now: `pods` maps this node's pods to their annotation value
   * (only annotated pods), `node` is the node's. Starts what is newly asked for and ends
   * annotation bursts whose annotation went away. Returns starts, ends, refusals and values
   * that cannot be used (each reported once).
   */
  onAnnotations(
    pods: ReadonlyMap<string, { pod: BurstPod; value: string }>,
    node: { name: string; value: string | undefined },
    now: number,
  ): {
    started: Burst[];
    ended: BurstEnd[];
    refused: Refusal[];
    invalid: { target: BurstTarget; problem: string }[];
  } {
    const started: Burst[] = [];
    const ended: BurstEnd[] = [];
    const refused: Refusal[] = [];
    const invalid: { target: BurstTarget; problem: string }[] = [];
    const wanted = new Map<string, { target: BurstTarget; value: string }>();
    for (const { pod, value } of pods.values())
      wanted.set(targetId({ kind: "Pod", pod }), { target: { kind: "Pod", pod }, value });
    if (node.value !== undefined)
      wanted.set(targetId({ kind: "Node", name: node.name }), {
        target: { kind: "Node", name: node.name },
        value: node.value,
      });
    // Gone annotations: end their bursts, forget that they ran (so setting one again restarts).
    for (const [id, b] of this.#active)
      if (b.trigger === "annotation" && wanted.get(id)?.value !== b.annotation) {
        this.#active.delete(id);
        ended.push({ burst: b, at: now, why: "annotation removed" });
      }
    for (const id of this.#annotationDone.keys())
      if (wanted.get(id)?.value === undefined) this.#annotationDone.delete(id);
    for (const id of this.#invalid.keys()) if (!wanted.has(id)) this.#invalid.delete(id);
    for (const [id, { target, value }] of wanted) {
      if (this.#annotationDone.get(id) === value || this.#active.get(id)?.annotation === value) continue;
      const parsed = parseBurstAnnotation(value, this.o.maxDurationMs);
      if ("problem" in parsed) {
        if (this.#invalid.get(id) !== value) invalid.push({ target, problem: parsed.problem });
        this.#invalid.set(id, value);
        continue;
      }
      // An annotation outranks a finding-triggered burst of the same pod: it replaces it.
      const current = this.#active.get(id);
      if (current) this.#active.delete(id);
      const reason = `annotation ${BURST_ANNOTATION}=${JSON.stringify(value.slice(0, 64))}${parsed.clamped ? ` (capped at ${durationText(this.o.maxDurationMs)})` : ""}`;
      const r = this.#start(target, "annotation", reason, now, parsed.ms, value);
      this.#annotationDone.set(id, value);
      if ("id" in r) started.push(r);
      else {
        if (current) this.#active.set(id, current);
        refused.push(r);
      }
    }
    return { started, ended, refused, invalid };
  }

  /** End bursts whose time is up, and pod bursts whose pod left the node. */
  expire(now: number, podsHere: ReadonlySet<string>): BurstEnd[] {
    const out: BurstEnd[] = [];
    for (const [id, b] of this.#active) {
      const gone = b.target.kind === "Pod" && !podsHere.has(b.target.pod.uid);
      if (now < b.until && !gone) continue;
      this.#active.delete(id);
      if (b.trigger === "finding") this.#lastEnded.set(id, now);
      out.push({ burst: b, at: now, why: gone ? "pod gone" : "elapsed" });
    }
    // Bounded: cooldowns older than the cooldown itself mean nothing.
    for (const [id, t] of this.#lastEnded) if (now - t >= this.o.cooldownMs) this.#lastEnded.delete(id);
    return out;
  }

  /** When the next burst scan is due, or undefined when none runs. */
  nextScan(lastScan: number): number | undefined {
    return this.#active.size ? lastScan + this.o.intervalMs : undefined;
  }

  static durationText = durationText;
}
