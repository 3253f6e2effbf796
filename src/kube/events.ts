/**
 * Kubernetes Events for findings, the way client-go's recorder makes them bearable: a
 * finding seen again becomes a series count on the existing Event instead of a new one,
 * and each object gets a token bucket (burst 25, one token per 5 minutes, as client-go's
 * spam filter) so a misbehaving pod cannot flood etcd. Uses events.k8s.io/v1.
 */
import { EventsV1Api, type KubeConfig, V1MicroTime } from "@kubernetes/client-node";
import { escapeText } from "../core/escape.js";
import { apiErrorText } from "./errors.js";

export interface Regarding {
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  uid?: string;
}

export interface EventRequest {
  regarding: Regarding;
  type: "Normal" | "Warning";
  reason: string;
  /** Raw text (a finding's message names processes and paths): escaped here, once. */
  note: string;
  /** Findings with the same key update one Event's series. */
  key: string;
  /** Machine-readable detail (the agent's finding record, JSON: raw, for readers that parse it). */
  annotations?: Record<string, string>;
}

export interface RecorderOptions {
  controller: string;
  instance: string;
  burst?: number;
  refillMs?: number;
  /** How often a series count is written back (every repeat would be an API call per scan). */
  seriesUpdateMs?: number;
  now?: () => Date;
  /**
   * Dry run (`agent --dry-run`): what would be written goes here instead of the API server,
   * through the same series and rate-limit logic: an Event to create (`create`), or a series
   * count to patch onto one created earlier in this run (`series`).
   */
  dryRun?: (
    write:
      | { verb: "create"; event: Record<string, unknown> }
      | { verb: "series"; name: string; namespace: string; series: Record<string, unknown> },
  ) => void;
}

interface Series {
  name: string;
  namespace: string;
  count: number;
  lastWritten: number;
}

export interface RecorderStats {
  created: number;
  seriesUpdates: number;
  dropped: number;
  failed: number;
  lastError?: string;
}

// The API server rejects an Event whose note is longer than this many bytes.
const NOTE_MAX_BYTES = 1024;

/**
 * An Event note from raw text: escaped for whoever reads it (`kubectl describe`, event
 * exporters, a terminal: src/core/escape.ts), then cut to the API's limit at a character,
 * never inside an escape sequence or a surrogate pair.
 */
export function eventNote(text: string): string {
  const note = escapeText(text);
  if (Buffer.byteLength(note) <= NOTE_MAX_BYTES) return note;
  let out = "";
  let bytes = 0;
  for (const ch of text) {
    const e = escapeText(ch);
    const n = Buffer.byteLength(e);
    if (bytes + n > NOTE_MAX_BYTES - 3) break;
    out += e;
    bytes += n;
  }
  return `${out}…`;
}

export class EventRecorder {
  readonly stats: RecorderStats = { created: 0, seriesUpdates: 0, dropped: 0, failed: 0 };
  readonly #api: EventsV1Api;
  readonly #series = new Map<string, Series>();
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #o: Required<Omit<RecorderOptions, "dryRun">>;
  readonly #dryRun: RecorderOptions["dryRun"];
  #seq = 0;

  constructor(kc: KubeConfig, options: RecorderOptions) {
    this.#api = kc.makeApiClient(EventsV1Api);
    const { dryRun, ...rest } = options;
    this.#dryRun = dryRun;
    this.#o = { burst: 25, refillMs: 300_000, seriesUpdateMs: 60_000, now: () => new Date(), ...rest };
  }

  #take(object: string): boolean {
    const now = this.#o.now().getTime();
    const b = this.#buckets.get(object) ?? { tokens: this.#o.burst, at: now };
    b.tokens = Math.min(this.#o.burst, b.tokens + (now - b.at) / this.#o.refillMs);
    b.at = now;
    this.#buckets.set(object, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Record one occurrence. Never throws: API failures are counted and retried next time. */
  async record(e: EventRequest): Promise<void> {
    const now = this.#o.now();
    const series = this.#series.get(e.key);
    try {
      if (series) {
        series.count++;
        if (now.getTime() - series.lastWritten < this.#o.seriesUpdateMs) return;
        const value = { count: series.count, lastObservedTime: new V1MicroTime(now.getTime()) };
        if (this.#dryRun)
          this.#dryRun({ verb: "series", name: series.name, namespace: series.namespace, series: value });
        else
          await this.#api.patchNamespacedEvent({
            name: series.name,
            namespace: series.namespace,
            body: [{ op: "add", path: "/series", value }],
          });
        series.lastWritten = now.getTime();
        this.stats.seriesUpdates++;
        return;
      }
      if (!this.#take(`${e.regarding.namespace}/${e.regarding.kind}/${e.regarding.name}`)) {
        this.stats.dropped++;
        return;
      }
      const body = {
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        // client-go's naming: <object>.<hex time>; generateName cannot end in "." (RFC 1123).
        metadata: {
          name: `${e.regarding.name}.${(now.getTime() * 1000 + (this.#seq++ % 1000)).toString(16)}`,
          namespace: e.regarding.namespace,
          ...(e.annotations ? { annotations: e.annotations } : {}),
        },
        eventTime: new V1MicroTime(now.getTime()),
        reportingController: this.#o.controller,
        reportingInstance: this.#o.instance,
        action: "Scan",
        reason: e.reason,
        type: e.type,
        note: eventNote(e.note),
        regarding: e.regarding,
      };
      let created: { metadata?: { name?: string } } = body;
      if (this.#dryRun) this.#dryRun({ verb: "create", event: body });
      else created = await this.#api.createNamespacedEvent({ namespace: e.regarding.namespace, body });
      this.#series.set(e.key, {
        name: created.metadata?.name as string,
        namespace: e.regarding.namespace,
        count: 1,
        lastWritten: now.getTime(),
      });
      this.stats.created++;
    } catch (err) {
      // The API server may be down: the finding is still there next scan, and recorded then.
      if (series) series.count--;
      this.stats.failed++;
      this.stats.lastError = apiErrorText(err);
    }
  }

  /** Forget findings no longer seen, so a recurrence starts a new Event. */
  retain(activeKeys: ReadonlySet<string>): void {
    for (const key of this.#series.keys()) if (!activeKeys.has(key)) this.#series.delete(key);
  }
}
