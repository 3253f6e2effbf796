/**
 * `socklens baseline export NS/NAME`: what Learn mode learned, as a baseline to review and
 * commit (`--as baseline`, the default), or a reviewed baseline's spec as a Kubernetes
 * NetworkPolicy (`--as networkpolicy`). The baseline comes from the cluster, or from a file.
 */
import { readFileSync } from "node:fs";
import { Document } from "yaml";
import { parseBaseline } from "../api/parse.js";
import { GROUP, VERSION } from "../api/v1alpha1/common.js";
import type { NetworkBaseline, NetworkBaselineInput } from "../api/v1alpha1/networkbaseline.js";
import { PLURAL } from "../api/v1alpha1/networkbaseline.js";
import { formatProblem, validateBaselines } from "../api/validate.js";
import { exportLearned, type LearnedState } from "../core/baseline/export.js";
import {
  networkPolicyFromBaseline,
  referencedServices,
  type ServiceShape,
} from "../core/baseline/networkpolicy.js";
import { escapeText } from "../core/escape.js";
import { kubeConfigFrom } from "./cluster-flags.js";
import { EXIT_OK, EXIT_USAGE, InputError, UsageError } from "./errors.js";
import { parseFlags } from "./flags.js";
import { type CliIO, writeYamlDocument } from "./io.js";

export const EXPORT_HELP = `Usage: socklens baseline export NAMESPACE/NAME [--kubeconfig FILE | --cluster] [--as baseline|networkpolicy] [-o FILE]
       socklens baseline export [NAMESPACE/NAME] --from-file FILE [--as baseline|networkpolicy] [--kubeconfig FILE | --cluster] [-o FILE]

--as baseline (default)
    Reads the NetworkBaseline's status.learned (what agents recorded in Learn mode) and
    writes a baseline in mode Alert that allows exactly that, with the same name, namespace,
    podSelector, thresholds and exceptions. Review it, commit it, apply it.
--as networkpolicy
    Writes the networking.k8s.io/v1 NetworkPolicy that allows what the baseline's spec
    allows, for the directions the baseline checks (policyTypes). A header comment lists
    what a NetworkPolicy cannot express (and will therefore deny): entities world, host and
    kube-apiserver, Services whose selector is unknown; and what it does not carry over
    (listeners, thresholds). Service peers become the Service's selector when the cluster
    can be read. See docs/adr/0007-networkpolicy-export.md.

--from-file FILE   read the baseline from a YAML/JSON file instead of the cluster
                   (NAMESPACE/NAME picks one when the file holds several); the cluster is
                   then read only with --kubeconfig or --cluster (for Service selectors)
`;

const FORMATS = ["baseline", "networkpolicy"] as const;

export const EXPORT_OPTIONS = {
  kubeconfig: { type: "string" },
  context: { type: "string" },
  cluster: { type: "boolean" },
  output: { type: "string", short: "o", default: "-" },
  as: { type: "string", default: "baseline" },
  "from-file": { type: "string" },
} as const;

interface Source {
  /** Where the baseline came from, for the header comment. */
  origin: string;
  namespace: string;
  name: string;
  object: {
    metadata: { name?: string; namespace?: string };
    spec: NetworkBaselineInput["spec"];
    status?: { learned?: LearnedState };
  };
  /** The baseline as the agent would read it: schema and semantic checks. */
  parsed: () => NetworkBaseline;
}

type KubeConfig = import("@kubernetes/client-node").KubeConfig;

export async function baselineCommand(args: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "export")
    throw new UsageError(`baseline: unknown subcommand ${JSON.stringify(sub ?? "")}\n\n${EXPORT_HELP}`);
  const { values, positionals } = parseFlags(rest, EXPORT_OPTIONS, true);
  const as = values.as as (typeof FORMATS)[number];
  if (!FORMATS.includes(as)) throw new UsageError(`--as: "${values.as}" is not one of ${FORMATS.join(", ")}`);
  const ref = positionals[0];
  const m = /^([a-z0-9-.]+)\/([a-z0-9-.]+)$/.exec(ref ?? "");
  const fromFile = values["from-file"];
  if (positionals.length > 1 || (ref !== undefined && !m) || (ref === undefined && !fromFile))
    throw new UsageError(
      `baseline export needs NAMESPACE/NAME${fromFile ? " (or nothing, with --from-file)" : ""}, got ${JSON.stringify(positionals.join(" "))}`,
    );
  const wanted = m ? { namespace: m[1] as string, name: m[2] as string } : undefined;
  // With a file the cluster is optional: read it only when asked to.
  const kc = !fromFile || values.kubeconfig || values.cluster ? await kubeConfigFrom(values) : undefined;
  if (fromFile && values.context && !kc)
    throw new UsageError("--context needs --kubeconfig FILE or --cluster");
  let source: Source;
  if (fromFile) {
    const found = fileSource(fromFile, wanted, io);
    if (typeof found === "number") return found;
    source = found;
  } else {
    source = await clusterSource(kc as KubeConfig, wanted as { namespace: string; name: string });
  }
  return as === "networkpolicy"
    ? writeNetworkPolicy(source, kc, values.output, io)
    : writeLearnedBaseline(source, values.output, io);
}

function writeLearnedBaseline(source: Source, output: string, io: CliIO): number {
  const learned = source.object.status?.learned;
  if (!learned)
    throw new InputError(
      `NetworkBaseline ${source.namespace}/${source.name} has learned nothing yet (status.learned is empty; is it in mode Learn, and is the operator running?)`,
    );
  const { baseline, omitted } = exportLearned(source.object, learned);
  const doc = new Document(baseline);
  const header = [
    ` Exported by socklens baseline export from ${source.origin} (status.learned) at ${new Date().toISOString()}`,
    ` ${learned.listeners?.length ?? 0} listener(s), ${learned.egress?.length ?? 0} egress and ${learned.ingress?.length ?? 0} ingress peer(s).`,
    omitted.length === 0
      ? " It allows exactly what was learned, in mode Alert: review, then commit and apply."
      : " It allows what was learned, in mode Alert, except what is listed below: review, then commit and apply.",
    ...omittedLines(omitted),
  ];
  if (writeYamlDocument(doc, header, output, io)) io.err(`socklens: wrote ${output}\n`);
  reportOmitted(omitted, io);
  return EXIT_OK;
}

async function writeNetworkPolicy(
  source: Source,
  kc: KubeConfig | undefined,
  output: string,
  io: CliIO,
): Promise<number> {
  const baseline = source.parsed();
  const refs = referencedServices(baseline);
  const services = kc && refs.length ? await readServices(kc, refs) : undefined;
  const r = networkPolicyFromBaseline(baseline, services ? { services } : {});
  if (!r.ok) throw new InputError(r.reason);
  const header = [
    ` NetworkPolicy exported by socklens baseline export --as networkpolicy from ${source.origin} at ${new Date().toISOString()}.`,
    ...r.comment,
  ];
  if (writeYamlDocument(new Document(r.policy), header, output, io)) io.err(`socklens: wrote ${output}\n`);
  return EXIT_OK;
}

async function clusterSource(kc: KubeConfig, ref: { namespace: string; name: string }): Promise<Source> {
  const { namespace, name } = ref;
  const { CustomObjectsApi } = await import("@kubernetes/client-node");
  let obj: Source["object"];
  try {
    obj = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      name,
    })) as Source["object"];
  } catch (err) {
    const code = (err as { code?: number }).code;
    throw new InputError(
      code === 404
        ? `no NetworkBaseline ${namespace}/${name}`
        : `cannot read NetworkBaseline ${namespace}/${name}: ${(err as Error).message.split("\n")[0]}`,
      { cause: err },
    );
  }
  const generation = (obj.metadata as { generation?: number }).generation;
  return {
    origin: `NetworkBaseline ${namespace}/${name}${generation ? ` (generation ${generation})` : ""}`,
    namespace,
    name,
    object: obj,
    parsed: () => {
      const p = parseBaseline(obj);
      if (!p.ok) throw new InputError(`NetworkBaseline ${namespace}/${name} is invalid: ${p.problem}`);
      return p.baseline;
    },
  };
}

/** The one baseline of a file (or the one NAMESPACE/NAME names); problems print as validate does. */
function fileSource(
  file: string,
  wanted: { namespace: string; name: string } | undefined,
  io: CliIO,
): Source | number {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new InputError(`--from-file: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const { baselines, problems } = validateBaselines(text, file);
  for (const p of problems) io.err(`${formatProblem(p)}\n`);
  if (problems.length) return EXIT_USAGE;
  const id = (b: NetworkBaseline) => `${b.metadata.namespace ?? "default"}/${b.metadata.name}`;
  const matching = baselines.filter(
    (v) => !wanted || id(v.baseline) === `${wanted.namespace}/${wanted.name}`,
  );
  if (matching.length !== 1) {
    const names = baselines.map((v) => id(v.baseline)).join(", ") || "none";
    throw new InputError(
      wanted
        ? `--from-file: no NetworkBaseline ${wanted.namespace}/${wanted.name} in ${file} (it has: ${names})`
        : `--from-file: ${file} holds ${baselines.length} NetworkBaselines (${names}); name one as NAMESPACE/NAME`,
    );
  }
  const { baseline } = matching[0] as (typeof matching)[number];
  return {
    origin: `${file} (NetworkBaseline ${id(baseline)})`,
    namespace: baseline.metadata.namespace ?? "default",
    name: baseline.metadata.name ?? "",
    object: baseline,
    parsed: () => baseline,
  };
}

/** Each Service's selector and ports; null for one the cluster does not have. */
async function readServices(kc: KubeConfig, refs: string[]): Promise<Map<string, ServiceShape | null>> {
  const { CoreV1Api } = await import("@kubernetes/client-node");
  const core = kc.makeApiClient(CoreV1Api);
  const out = new Map<string, ServiceShape | null>();
  for (const ref of refs) {
    const [namespace, name] = ref.split("/") as [string, string];
    try {
      const svc = await core.readNamespacedService({ namespace, name });
      out.set(ref, {
        ...(svc.spec?.selector ? { selector: svc.spec.selector } : {}),
        ports: (svc.spec?.ports ?? []).map((p) => ({
          port: p.port,
          ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
          ...(p.protocol ? { protocol: p.protocol } : {}),
        })),
      });
    } catch (err) {
      if ((err as { code?: number }).code === 404) {
        out.set(ref, null);
        continue;
      }
      throw new InputError(`cannot read Service ${ref}: ${(err as Error).message.split("\n")[0]}`, {
        cause: err,
      });
    }
  }
  return out;
}

/**
 * Header lines for what a learned baseline could not hold (src/core/baseline/learn.ts): left
 * out rather than widened, so it is reported as a finding once the baseline is in Alert mode.
 */
export function omittedLines(omitted: string[]): string[] {
  if (omitted.length === 0) return [];
  return [
    ` Left out (${omitted.length}; not allowed by this baseline, so reported once it is in Alert mode):`,
    ...omitted.map((o) => `   - ${escapeText(o)}`),
  ];
}

/** The same, one line on stderr, so a pipeline notices without reading the file. */
export function reportOmitted(omitted: string[], io: CliIO): void {
  if (omitted.length)
    io.err(
      `socklens: ${omitted.length} learned item(s) did not fit a NetworkBaseline and were left out (listed in the header comment)\n`,
    );
}
