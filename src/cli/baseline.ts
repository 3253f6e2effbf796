/** `socklens validate`, `socklens check` and `socklens learn`: baselines on a single host. */
import { hostname } from "node:os";
import { Document } from "yaml";
import { SEASONAL_ANNOTATION } from "../agent/seasonal-codec.js";
import { DNS_LABEL, DNS_SUBDOMAIN, parseDuration } from "../api/v1alpha1/common.js";
import {
  formatProblem,
  type ValidatedBaseline,
  type ValidationProblem,
  validateBaselines,
} from "../api/validate.js";
import { DEFAULT_YAML_LIMITS, MAX_BYTES_ENV } from "../api/yaml-limits.js";
import { compileBaseline } from "../core/baseline/compile.js";
import { evaluate, SEVERITY_ORDER } from "../core/baseline/evaluate.js";
import { type FindingContext, findingRecord, suppressedRecord } from "../core/baseline/finding-record.js";
import { Learner } from "../core/baseline/learn.js";
import { DEFAULT_EPHEMERAL_RANGE } from "../core/baseline/limits.js";
import { maskLearned } from "../core/baseline/mask-learned.js";
import { applyExceptions } from "../core/baseline/patterns.js";
import { offlineResolver } from "../core/baseline/resolver.js";
import type { EvaluationResult, PodInfo } from "../core/baseline/types.js";
import { type ClusterIndex, workloadOf } from "../core/cluster-index.js";
import { escapeNonPrintable, escapeText } from "../core/escape.js";
import { maskFinding } from "../core/mask.js";
import { renderTable } from "../core/render.js";
import type { Socket } from "../core/socket.js";
import { stableSelector } from "../core/workload.js";
import { collectSockets } from "../procfs/collect.js";
import { fileLimitsOfBusyProcesses } from "../procfs/limits.js";
import { ownEphemeralRange } from "../procfs/netns.js";
import { procPathsFromEnv } from "../procfs/paths.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS, loadCluster, localAddresses } from "./cluster-flags.js";
import { reportDiagnostics } from "./diagnostics.js";
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, InputError, UsageError } from "./errors.js";
import { omittedLines, reportOmitted } from "./export.js";
import { parseFlags } from "./flags.js";
import { readInputFile, yamlByteLimit } from "./input.js";
import { type CliIO, writeYamlDocument } from "./io.js";
import { parseMasks, parseOutput, toYaml } from "./options.js";
import { parseScope, SCOPE_HELP, SCOPE_OPTIONS } from "./scope.js";
import type { SeasonalJudge } from "./seasonal-judge.js";

export const BASELINE_HELP = `Usage: socklens validate FILE…
       socklens check --baseline FILE [scope] [-o table|json|yaml|ndjson] [--show-suppressed] [--mask CIDR]
       socklens learn [scope] [--duration 10m] [--interval 5s] [-o FILE] [--name N] [--namespace NS] [--mask CIDR] [--seasonal]

validate  checks NetworkBaseline documents (multi-document YAML) against the schema and
          semantic rules; problems print as FILE:LINE:COL: field.path: what is wrong.
check     evaluates each baseline in FILE against this host's sockets in the scope and
          prints each finding with its explanation (-o ndjson: one finding record per line,
          see docs/output.md). Findings an exception acknowledges (socklens ack) are
          counted; --show-suppressed lists them (table, ndjson; -o json always has them).
          Exit 0 clean, 1 findings, 2 invalid input.
          Rules that need cluster knowledge (podSelector, service, entity cluster/world)
          give a CannotEvaluateOffline finding here, never a silent pass.
learn     observes the scope every --interval for --duration and writes a NetworkBaseline
          that allows exactly what was seen (default output: stdout). On a terminal it
          shows what it has seen so far; Ctrl-C (or SIGTERM) writes what was learned until
          then, says so, and exits 130 (143). --seasonal also learns the weekly model of its
          counts (docs/detectors.md) into the annotation socklens.io/seasonal-model; it
          judges only after 7 days (--duration 8d). check and watch with that file judge
          the same scope's counts by it (SeasonalAnomaly).

${SCOPE_HELP}      --pod NS/NAME      sockets of this pod (needs cluster knowledge)

${CLUSTER_HELP}`;

export const CHECK_OPTIONS = {
  ...SCOPE_OPTIONS,
  ...CLUSTER_OPTIONS,
  pod: { type: "string" },
  baseline: { type: "string", multiple: true, short: "f" },
  output: { type: "string", short: "o" },
  mask: { type: "string", multiple: true },
  debug: { type: "boolean" },
  "show-suppressed": { type: "boolean" },
} as const;

export const LEARN_OPTIONS = {
  seasonal: { type: "boolean" },
  ...SCOPE_OPTIONS,
  ...CLUSTER_OPTIONS,
  pod: { type: "string" },
  duration: { type: "string", default: "10m" },
  interval: { type: "string", default: "5s" },
  output: { type: "string", short: "o", default: "-" },
  name: { type: "string" },
  namespace: { type: "string" },
  mask: { type: "string", multiple: true },
  debug: { type: "boolean" },
} as const;

/**
 * The seasonal models in the baselines' `socklens.io/seasonal-model` annotations (written by
 * `learn --seasonal`), for check and watch to judge counts by. The model code loads only when
 * some baseline has one.
 */
export async function seasonalJudgesOf(
  baselines: readonly ValidatedBaseline[],
  now: number,
): Promise<{ judges: SeasonalJudge[]; problems: ValidationProblem[] }> {
  if (!baselines.some((b) => b.baseline.metadata.annotations?.[SEASONAL_ANNOTATION] !== undefined))
    return { judges: [], problems: [] };
  return (await import("./seasonal-judge.js")).loadSeasonalJudges(baselines, now);
}

export function readBaselineFiles(
  files: string[],
  env: NodeJS.ProcessEnv,
): {
  baselines: ValidatedBaseline[];
  problems: ValidationProblem[];
} {
  const baselines: ValidatedBaseline[] = [];
  const problems: ValidationProblem[] = [];
  const limits = { ...DEFAULT_YAML_LIMITS, maxBytes: yamlByteLimit(env, DEFAULT_YAML_LIMITS.maxBytes) };
  for (const file of files) {
    const input = readInputFile(file, limits.maxBytes, ` (${MAX_BYTES_ENV} sets another)`);
    if ("problem" in input) {
      problems.push({ file, path: "(file)", message: input.problem });
      continue;
    }
    const r = validateBaselines(input.text, file, limits);
    for (const b of r.baselines) baselines.push(b);
    for (const p of r.problems) problems.push(p);
  }
  return { baselines, problems };
}

/**
 * Problems quote the values they name as JSON (`got "…"`): finish that escaping for the
 * terminal without doubling it (src/core/escape.ts).
 */
export function reportProblems(problems: ValidationProblem[], io: CliIO): void {
  for (const p of problems) io.err(`${escapeNonPrintable(formatProblem(p))}\n`);
}

export async function validateCommand(args: string[], io: CliIO): Promise<number> {
  const { positionals } = parseFlags(args, {}, true);
  if (positionals.length === 0) throw new UsageError("validate needs at least one file");
  const { baselines, problems } = readBaselineFiles(positionals, io.env);
  // A model that would make check or watch exit 2 fails validation too.
  problems.push(...(await seasonalJudgesOf(baselines, Date.now())).problems);
  reportProblems(problems, io);
  if (problems.length) return EXIT_USAGE;
  for (const b of baselines)
    io.out(
      `${escapeText(b.file)}: ${escapeText(`${b.baseline.metadata.namespace ?? "default"}/${b.baseline.metadata.name}`)}: valid\n`,
    );
  return EXIT_OK;
}

/**
 * The ephemeral port range of the scope's namespace: ours when every socket is in our own
 * namespace, else undefined (the matcher then uses Linux's default, which new namespaces get).
 */
function scopeEphemeralRange(
  sockets: readonly { netns: number }[],
  own: ReturnType<typeof ownEphemeralRange>,
): readonly [number, number] | undefined {
  return own.range && own.netns !== undefined && sockets.every((s) => s.netns === own.netns)
    ? own.range
    : undefined;
}

/** The scope flags, `--pod` and cluster knowledge together: what check and learn look at. */
async function resolveTarget(
  values: Parameters<typeof parseScope>[0] & Parameters<typeof loadCluster>[0] & { pod?: string },
  io: CliIO,
  paths: ReturnType<typeof procPathsFromEnv>,
) {
  const cluster = await loadCluster(values, io);
  const target = podTarget(values.pod, cluster);
  const scope = parseScope(target ? { ...values, "pod-uid": target.uid } : values, paths);
  return { cluster, target, scope, description: target?.description ?? scope.description };
}

/** `--pod NS/NAME`: a pod known to the cluster, as a scope. */
function podTarget(
  pod: string | undefined,
  cluster: ClusterIndex | undefined,
):
  | { uid: string; info: PodInfo; description: string; selector: Record<string, string>; workload?: string }
  | undefined {
  if (pod === undefined) return undefined;
  const m = /^([a-z0-9-.]+)\/([a-z0-9-.]+)$/.exec(pod);
  if (!m) throw new UsageError(`--pod: "${pod}" is not NAMESPACE/NAME`);
  if (!cluster)
    throw new UsageError(
      "--pod needs cluster knowledge: add --kubeconfig FILE or --cluster (or use --pod-uid)",
    );
  const p = cluster.podByName(m[1] as string, m[2] as string);
  if (!p) throw new InputError(`--pod: no pod ${pod} in the cluster`);
  const workload = workloadOf(p, cluster.snapshot.owners);
  return {
    uid: p.uid,
    info: cluster.podInfo(p),
    description: `pod ${pod}`,
    selector: stableSelector(p, cluster.snapshot.owners),
    ...(workload ? { workload: workload.name } : {}),
  };
}

export async function checkCommand(
  args: string[],
  io: CliIO,
  now: () => Date = () => new Date(),
): Promise<number> {
  const { values } = parseFlags(args, CHECK_OPTIONS);
  if (!values.baseline?.length) throw new UsageError("check needs --baseline FILE");
  // Acknowledged findings are counted always and listed on request (docs/ack.md).
  const showSuppressed = values["show-suppressed"] ?? false;
  const format = parseOutput(values.output, ["table", "json", "yaml", "ndjson"]);
  const masks = parseMasks(values.mask, io.env);
  const paths = procPathsFromEnv(io.env);
  const { baselines, problems } = readBaselineFiles(values.baseline, io.env);
  const { judges, problems: modelProblems } = await seasonalJudgesOf(baselines, now().getTime());
  problems.push(...modelProblems);
  reportProblems(problems, io);
  if (problems.length) return EXIT_USAGE;
  if (baselines.length === 0)
    throw new InputError(`no NetworkBaseline documents in ${values.baseline.join(", ")}`);
  const { cluster, target, scope, description } = await resolveTarget(values, io, paths);

  const scan = await collectSockets({ paths, ...(scope.filter.netns ? { netns: scope.filter.netns } : {}) });
  reportDiagnostics(scan.diagnostics, io, values.debug ?? false);
  const sockets = scope.select(scan.sockets);
  cluster?.enrichInPlace(sockets);
  const resolver = cluster ?? offlineResolver(localAddresses());
  const ephemeralPorts = scopeEphemeralRange(sockets, ownEphemeralRange(paths));
  const observation = {
    scope: description,
    sockets,
    fileLimits: fileLimitsOfBusyProcesses(paths, sockets),
    ...(target ? { pod: target.info } : {}),
    ...(ephemeralPorts ? { ephemeralPorts } : {}),
  };
  const at = now();
  // One look judges the state counts only: new connections a minute need two scans.
  const seasonal = judges.length
    ? new (await import("./seasonal-judge.js")).SeasonalJudgement(judges, description, false).observe(
        at.getTime(),
        sockets,
        (a) => resolver.isHost(a) || (resolver.isCluster?.(a) ?? false),
      )
    : [];
  const results = baselines.map((v) => {
    const compiled = compileBaseline(v.baseline);
    const r = evaluate(compiled, observation, resolver, at);
    const judged = seasonal.find((s) => s.baseline === compiled.id)?.findings ?? [];
    if (judged.length) {
      const x = applyExceptions(compiled.exceptions, judged, at);
      r.findings.push(...x.findings);
      r.suppressed.push(...x.suppressed);
    }
    return { id: compiled.id, file: v.file, ...r };
  });
  const masked = results.map((r) => maskResult(r, masks));
  const total = masked.reduce((n, r) => n + r.findings.length, 0);
  const suppressed = masked.reduce((n, r) => n + r.suppressed.length, 0);
  // Machine-readable output is the finding record (docs/output.md), one shape for both.
  const context = findingContext(target, scope.filter.podUid);
  const records = masked.map((r) => ({
    id: r.id,
    file: r.file,
    findings: r.findings.map((f) => findingRecord(f, context)),
    suppressed: r.suppressed.map((x) => suppressedRecord(x, context)),
  }));
  if (format === "json" || format === "yaml") {
    const doc = {
      scope: description,
      sockets: sockets.length,
      results: records,
      findings: total,
      suppressed,
    };
    io.out(format === "json" ? `${JSON.stringify(doc, null, 2)}\n` : await toYaml(doc));
  } else if (format === "ndjson") {
    for (const r of records)
      for (const x of [...r.findings, ...(showSuppressed ? r.suppressed : [])])
        io.out(`${JSON.stringify(x)}\n`);
  } else {
    const rows = masked.flatMap((r) =>
      [...r.findings]
        .sort((a, b) => SEVERITY_ORDER[b.severity] - SEVERITY_ORDER[a.severity])
        .map((f) => [f.severity.toUpperCase(), f.rule, f.message]),
    );
    if (rows.length) io.out(`${renderTable(["Severity", "Rule", "Explanation"], rows)}\n`);
    for (const r of showSuppressed ? masked : []) {
      for (const s of r.suppressed)
        io.out(
          `suppressed by exception (${escapeText(s.reason)}${s.expires ? `, until ${escapeText(s.expires)}` : ""}): ${escapeText(s.finding.message)}\n`,
        );
    }
    io.out(
      `${baselines.length} baseline(s), scope ${escapeText(description)}, ${sockets.length} sockets: ${total} finding(s), ${suppressed} suppressed by exceptions${suppressed && !showSuppressed ? " (--show-suppressed lists them)" : ""}\n`,
    );
  }
  return total > 0 ? EXIT_FINDINGS : EXIT_OK;
}

/** The pod and workload a finding's scope is, when check knows them. */
function findingContext(
  target: Awaited<ReturnType<typeof resolveTarget>>["target"],
  podUid: string | undefined,
): FindingContext {
  if (target)
    return {
      pod: { namespace: target.info.namespace, name: target.info.name, uid: target.uid },
      ...(target.info.workload ? { workload: target.info.workload } : {}),
    };
  return podUid ? { pod: { uid: podUid } } : {};
}

function maskResult<T extends EvaluationResult>(r: T, masks: ReturnType<typeof parseMasks>): T {
  if (masks.length === 0) return r;
  return {
    ...r,
    findings: r.findings.map((f) => maskFinding(f, masks)),
    suppressed: r.suppressed.map((x) => ({ ...x, finding: maskFinding(x.finding, masks) })),
  };
}

export interface LearnClock {
  now: () => Date;
  /** Resolves after ms, or as soon as the signal aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

const realLearnClock: LearnClock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    }),
};

/** Exit status after a signal, as shells report it (128 + the signal number). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/** "95 s", "4 min 10 s": the progress line's clock. */
function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

export async function learnCommand(
  args: string[],
  io: CliIO,
  clock: LearnClock = realLearnClock,
): Promise<number> {
  const { values } = parseFlags(args, LEARN_OPTIONS);
  const masks = parseMasks(values.mask, io.env);
  const duration = parseDuration(values.duration);
  const interval = parseDuration(values.interval);
  if (duration === null)
    throw new UsageError(`--duration: "${values.duration}" is not a duration such as 30s, 10m or 1h`);
  if (interval === null || interval <= 0)
    throw new UsageError(`--interval: "${values.interval}" is not a positive duration such as 5s`);
  // Checked before observing for --duration, not after: the names go into the baseline.
  if (values.name !== undefined && (values.name.length > 253 || !DNS_SUBDOMAIN.test(values.name)))
    throw new UsageError(
      `--name: "${escapeText(values.name)}" is not a Kubernetes object name: lowercase a-z, 0-9, '-' and '.', starting and ending with a letter or digit, at most 253 characters`,
    );
  if (values.namespace !== undefined && (values.namespace.length > 63 || !DNS_LABEL.test(values.namespace)))
    throw new UsageError(
      `--namespace: "${escapeText(values.namespace)}" is not a namespace name: lowercase a-z, 0-9 and '-', starting and ending with a letter or digit, at most 63 characters`,
    );
  const paths = procPathsFromEnv(io.env);
  const { cluster, target, scope, description } = await resolveTarget(values, io, paths);
  const name = values.name ?? target?.workload ?? target?.info.name ?? "learned";
  const namespace = values.namespace ?? target?.info.namespace ?? "default";
  const own = ownEphemeralRange(paths);
  const learner = new Learner();
  // --seasonal: the counts' weekly model too (docs/detectors.md), written as an annotation.
  const seasonal = values.seasonal ? await seasonalLearner(`${namespace}/${name}`) : undefined;
  const started = clock.now();
  const deadline = started.getTime() + duration;
  // Ctrl-C (or a SIGTERM) ends learning early; what was seen so far is still written.
  const stop = new AbortController();
  let interrupted: keyof typeof SIGNAL_EXIT | undefined;
  const onSignal = (signal: keyof typeof SIGNAL_EXIT) => {
    interrupted ??= signal;
    stop.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // Progress rewrites one stderr line, so only on a terminal; a pipe or a log gets none.
  const progress = io.errIsTTY === true;
  const showProgress = () => {
    const { listeners, egress, ingress } = learner.seen;
    io.err(
      `\r\x1b[Klearning ${escapeText(description)}: ${seconds(clock.now().getTime() - started.getTime())} of ${escapeText(values.duration)}, ` +
        `${learner.observations} observation(s): ${listeners} listener(s), ${egress} egress and ${ingress} ingress peer(s) (Ctrl-C writes what was learned so far)`,
    );
  };
  try {
    for (;;) {
      const scan = await collectSockets({
        paths,
        ...(scope.filter.netns ? { netns: scope.filter.netns } : {}),
      });
      if (learner.observations === 0) reportDiagnostics(scan.diagnostics, io, values.debug ?? false);
      const sockets = scope.select(scan.sockets);
      // With cluster knowledge, peers are learned as workloads, Services and entities.
      const ephemeralPorts = scopeEphemeralRange(sockets, own) ?? DEFAULT_EPHEMERAL_RANGE;
      learner.observe(sockets, cluster, { ephemeralPorts });
      seasonal?.observe(
        clock.now().getTime(),
        sockets,
        (a) => cluster?.isHost(a) || cluster?.isCluster(a) || false,
      );
      if (progress) showProgress();
      // The duration is a duration (issue 14: 6s at 2s intervals once ended after 4.1 s):
      // sleep up to the deadline, however the interval divides it, and look once more there.
      const left = deadline - clock.now().getTime();
      if (stop.signal.aborted || left <= 0) break;
      await clock.sleep(Math.min(interval, left), stop.signal);
      if (stop.signal.aborted) break;
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (progress) io.err("\r\x1b[K");
  }
  const ended = clock.now();
  // With a pod, the baseline is named after its workload and selects it by its stable labels.
  const podSelector = target?.selector;
  const { baseline, omitted } = learner.learned({
    name,
    namespace,
    ...(podSelector ? { podSelector } : {}),
  });
  if (seasonal) {
    const annotation = seasonal.annotation(clock.now().getTime());
    baseline.metadata.annotations = { ...baseline.metadata.annotations, ...annotation.value };
    io.err(`socklens: ${annotation.summary}\n`);
  }
  // A peer inside a --mask range is learned as that range (core/baseline/mask-learned.ts).
  const doc = new Document(maskLearned(baseline, masks));
  const exactly =
    omitted.length === 0 ? "exactly what was seen" : "what was seen, except what is listed below";
  const header = [
    ` Learned by socklens learn on ${escapeText(hostname())}`,
    ` from ${started.toISOString()} to ${ended.toISOString()} (${learner.observations} observations, every ${escapeText(values.interval)})`,
    ` scope: ${escapeText(description)}`,
    ...(interrupted
      ? [
          ` Interrupted by ${interrupted} before the ${escapeText(values.duration)} were over: it holds what was seen until then.`,
        ]
      : []),
    target
      ? ` It allows ${exactly}: review it, then commit.`
      : ` It allows ${exactly}: review it, set spec.podSelector, then commit.`,
    ...omittedLines(omitted),
  ];
  const toFile = writeYamlDocument(doc, header, values.output, io);
  const where = toFile ? `to ${escapeText(values.output)}` : "to stdout";
  if (interrupted)
    io.err(
      `socklens: interrupted by ${interrupted} after ${seconds(ended.getTime() - started.getTime())}: wrote what was learned from ${learner.observations} observation(s) ${where}\n`,
    );
  else if (toFile) io.err(`socklens: wrote a baseline from ${learner.observations} observations ${where}\n`);
  reportOmitted(omitted, io);
  return interrupted ? SIGNAL_EXIT[interrupted] : EXIT_OK;
}

/**
 * `learn --seasonal`: a tracker over the scope and the seasonal model of its counts, keyed by
 * the baseline ("namespace/name") as the agent keys it. Loaded on demand: plain learn pays
 * nothing for it.
 */
async function seasonalLearner(workload: string) {
  const { Tracker } = await import("../core/memory/tracker.js");
  const { SeasonalModels } = await import("../core/memory/seasonal-models.js");
  const { seriesValues } = await import("../core/memory/seasonal-finding.js");
  const { encodeModels } = await import("../agent/seasonal-codec.js");
  const tracker = new Tracker();
  const models = new SeasonalModels();
  const SCOPE = "learn";
  return {
    observe(now: number, sockets: readonly Socket[], isInternal: (a: string) => boolean): void {
      tracker.observe(now, [{ scope: SCOPE, sockets }]);
      const m = tracker.scope(SCOPE);
      if (m) models.learn(workload, seriesValues(m, now, isInternal), now);
    },
    /** The annotation, with the hour in progress closed (a learn ends mid-hour). */
    annotation(now: number): { value: Record<string, string>; summary: string } {
      models.closeHours(now);
      // Annotations share 256 KiB per object with everything else: keep well under.
      const { bytes } = encodeModels(models, 192 * 1024);
      const first = models.series(workload, "ESTABLISHED")?.firstSeen ?? now;
      const days = Math.floor((now - first) / 86_400_000);
      return {
        value: { [SEASONAL_ANNOTATION]: bytes.toString("base64") },
        summary: `seasonal model of ${days} day(s) in annotation ${SEASONAL_ANNOTATION} (${bytes.length} bytes gzipped)${days < 7 ? "; it judges nothing before 7 days of history" : ""}`,
      };
    },
  };
}
