/**
 * `socklens ack`: a human's verdict on a finding pattern, written into the baseline as a
 * `spec.exceptions` entry — a reviewed spec change, never a silent one (docs/ack.md, ADR 0021).
 * Host: edits the baseline file in place, keeping its other documents byte for byte and the
 * comments of the edited one. Cluster: patches the NetworkBaseline object, guarded by its
 * resourceVersion. Wiring only; the entry itself comes from src/core/baseline/ack.ts.
 */
import { renameSync, statSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { type Document, isMap, isSeq, parseAllDocuments } from "yaml";
import { GROUP, VERSION } from "../api/v1alpha1/common.js";
import { type BaselineException, PLURAL } from "../api/v1alpha1/networkbaseline.js";
import { formatProblem, validateBaselines } from "../api/validate.js";
import { DEFAULT_YAML_LIMITS, MAX_BYTES_ENV } from "../api/yaml-limits.js";
import {
  ackException,
  DEFAULT_ACK_DAYS,
  placeException,
  REVIEWED_AT_ANNOTATION,
  REVIEWED_BY_ANNOTATION,
  rfc3339,
} from "../core/baseline/ack.js";
import { patternKey, patternOfException } from "../core/baseline/patterns.js";
import { escapeText } from "../core/escape.js";
import { CLUSTER_OPTIONS, kubeConfigFrom } from "./cluster-flags.js";
import { EXIT_OK, InputError, UsageError } from "./errors.js";
import { parseFlags } from "./flags.js";
import { readInputFile, yamlByteLimit } from "./input.js";
import type { CliIO } from "./io.js";

export const ACK_HELP = `Usage: socklens ack KEY --baseline FILE --reason TEXT [--expires 30d|TIME|never] [--confirm] [--by NAME] [--name NAME]
       socklens ack KEY --kubeconfig FILE --namespace NS --baseline NAME --reason TEXT [...]
       socklens ack --reviewed --baseline FILE|NAME [...]

Acknowledges a finding pattern: KEY is the "key" socklens check, watch and report print
(RULE/ADDRESS/PORT/PROCESS, * where open, e.g. Beaconing/198.51.100.7/443/updater). It
writes a spec.exceptions entry with the reason, who (--by, default the user) and when:
findings of that pattern are then suppressed — counted, and listed with --show-suppressed —
until the entry expires (default ${DEFAULT_ACK_DAYS}d; --expires never for none), then fire again.
--confirm marks the pattern a confirmed incident instead: it keeps firing and reports rank
it high. --reviewed records that a human reviewed the baseline now (the annotation
${REVIEWED_AT_ANNOTATION}): findings first seen after that are "new" in reports.

Host: FILE is edited in place (the result passes socklens validate; other documents stay
as they were); --name picks the baseline in a multi-document file. Cluster: --kubeconfig
FILE or --cluster, --namespace and --baseline NAME; the object's spec changes (a new
generation), which the operator reports in status.acknowledged. Either way it is a spec
change to review: commit the file, or export and commit the object.
`;

interface AckValues {
  baseline?: string;
  reason?: string;
  expires?: string;
  confirm?: boolean;
  reviewed?: boolean;
  by?: string;
  name?: string;
  namespace?: string;
  kubeconfig?: string;
  context?: string;
  cluster?: boolean;
}

export const ACK_OPTIONS = {
  ...CLUSTER_OPTIONS,
  baseline: { type: "string", short: "f" },
  reason: { type: "string" },
  expires: { type: "string" },
  confirm: { type: "boolean" },
  reviewed: { type: "boolean" },
  by: { type: "string" },
  name: { type: "string" },
  namespace: { type: "string", short: "n" },
} as const;

export async function ackCommand(
  args: string[],
  io: CliIO,
  now: () => Date = () => new Date(),
): Promise<number> {
  const { values, positionals } = parseFlags(args, ACK_OPTIONS, true);
  const v = values as AckValues;
  if (!v.baseline)
    throw new UsageError("ack needs --baseline FILE (host) or --baseline NAME with --kubeconfig");
  if (positionals.length > 1) throw new UsageError("ack takes one KEY");
  const key = positionals[0];
  if (key === undefined && !v.reviewed) throw new UsageError("ack needs a KEY (or --reviewed)");
  const at = now();
  const by = v.by ?? defaultUser(io.env);
  let entry: BaselineException | undefined;
  if (key !== undefined) {
    if (v.reason === undefined) throw new UsageError("ack needs --reason TEXT: why the finding is benign");
    try {
      entry = ackException(
        {
          key,
          reason: v.reason,
          ...(v.expires !== undefined ? { expires: v.expires } : {}),
          ...(by ? { by } : {}),
          ...(v.confirm ? { confirm: true } : {}),
        },
        at,
      );
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const edit: Edit = {
    ...(entry ? { entry } : {}),
    reviewed: v.reviewed ?? false,
    at,
    ...(by ? { by } : {}),
  };
  const cluster = v.kubeconfig !== undefined || v.cluster === true;
  const result = cluster ? await ackInCluster(v, edit) : ackInFile(v, edit, io);
  io.out(`${describe(result, edit)}\n`);
  return EXIT_OK;
}

interface Edit {
  entry?: BaselineException;
  reviewed: boolean;
  at: Date;
  by?: string;
}

interface EditResult {
  where: string;
  replaced: boolean;
  index?: number;
}

function describe(r: EditResult, e: Edit): string {
  const parts: string[] = [];
  if (e.entry) {
    const pattern = escapeText(patternKey(patternOfException(e.entry)));
    const verdict = e.entry.verdict === "Confirmed" ? "marked as a confirmed incident" : "acknowledged";
    parts.push(
      `${verdict} ${pattern} in ${escapeText(r.where)} (spec.exceptions[${r.index}]${r.replaced ? ", replacing the entry for the same pattern" : ""}${e.entry.expires ? `, until ${e.entry.expires}` : ", no expiry"})`,
    );
  }
  if (e.reviewed)
    parts.push(
      `${e.entry ? "and " : ""}marked ${escapeText(r.where)} reviewed at ${rfc3339(e.at.getTime())}`,
    );
  return `${parts.join("; ")}; review and commit this spec change`;
}

function defaultUser(env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env.SUDO_USER ?? env.USER ?? env.LOGNAME;
  if (fromEnv) return fromEnv.slice(0, 256);
  try {
    return userInfo().username.slice(0, 256);
  } catch {
    return undefined;
  }
}

/** Host: edit the one NetworkBaseline document in FILE (or --name's), keep everything else. */
function ackInFile(v: AckValues, e: Edit, io: CliIO): EditResult {
  const file = v.baseline as string;
  if (v.namespace !== undefined) throw new UsageError("--namespace is for the cluster path (--kubeconfig)");
  const limits = { ...DEFAULT_YAML_LIMITS, maxBytes: yamlByteLimit(io.env, DEFAULT_YAML_LIMITS.maxBytes) };
  const input = readInputFile(file, limits.maxBytes, ` (${MAX_BYTES_ENV} sets another)`);
  if ("problem" in input) throw new InputError(`${file}: ${input.problem}`);
  // Only a valid file is edited: an edit on top of a broken one would hide what broke it.
  const before = validateBaselines(input.text, file, limits);
  if (before.problems.length)
    throw new InputError(
      `${file} does not validate; fix it first:\n${before.problems.map((p) => formatProblem(p)).join("\n")}`,
    );
  const docs = parseAllDocuments(input.text, { uniqueKeys: false });
  if (!Array.isArray(docs)) throw new InputError(`${file} is not a YAML stream`);
  const candidates = docs
    .map((doc, i) => ({ doc, i, js: doc.toJS() as { kind?: string; metadata?: { name?: string } } | null }))
    .filter((d) => d.js?.kind === "NetworkBaseline");
  const chosen = v.name ? candidates.filter((d) => d.js?.metadata?.name === v.name) : candidates;
  if (chosen.length === 0)
    throw new InputError(
      v.name
        ? `${file} has no NetworkBaseline named ${JSON.stringify(v.name)}`
        : `${file} has no NetworkBaseline`,
    );
  if (chosen.length > 1)
    throw new UsageError(
      `${file} holds ${chosen.length} NetworkBaselines (${chosen.map((d) => d.js?.metadata?.name).join(", ")}); pick one with --name`,
    );
  const { doc, i } = chosen[0] as (typeof chosen)[number];
  const result = editDocument(doc, e);
  // Every other document keeps its exact text; the edited one is re-rendered with its comments.
  let out = "";
  let from = 0;
  docs.forEach((d, n) => {
    const end = n === docs.length - 1 ? input.text.length : d.range[2];
    out += n === i ? renderDoc(d, input.text.slice(from, end)) : input.text.slice(from, end);
    from = end;
  });
  const after = validateBaselines(out, file, limits);
  if (after.problems.length)
    throw new InputError(
      `the acknowledged baseline would not validate, ${file} is unchanged:\n${after.problems.map((p) => formatProblem(p)).join("\n")}`,
    );
  writeAtomically(file, out);
  return { where: `${file} (NetworkBaseline ${String(chosen[0]?.js?.metadata?.name)})`, ...result };
}

function renderDoc(doc: Document, original: string): string {
  const text = doc.toString({ flowCollectionPadding: false, lineWidth: 0 });
  // A document that started after a "---" keeps it even when yaml would not print it.
  return original.trimStart().startsWith("---") && !text.startsWith("---") ? `---\n${text}` : text;
}

function editDocument(doc: Document, e: Edit): { replaced: boolean; index?: number } {
  let placed: { index: number; replaced: boolean } | undefined;
  if (e.entry) {
    const list = doc.getIn(["spec", "exceptions"]);
    const existing = ((doc.toJS() as { spec?: { exceptions?: BaselineException[] } }).spec?.exceptions ??
      []) as BaselineException[];
    try {
      placed = placeException(existing, e.entry);
    } catch (err) {
      throw new InputError((err as Error).message);
    }
    const node = doc.createNode(e.entry);
    if (isSeq(list)) {
      if (placed.replaced) list.set(placed.index, node);
      else list.add(node);
    } else doc.setIn(["spec", "exceptions"], doc.createNode([e.entry]));
  }
  if (e.reviewed) {
    const meta = doc.get("metadata");
    // A flow-style metadata map would grow into one long line: write it as a block.
    if (isMap(meta)) meta.flow = false;
    doc.setIn(["metadata", "annotations", REVIEWED_AT_ANNOTATION], rfc3339(e.at.getTime()));
    if (e.by) doc.setIn(["metadata", "annotations", REVIEWED_BY_ANNOTATION], e.by);
  }
  return placed ? { replaced: placed.replaced, index: placed.index } : { replaced: false };
}

/** Write next to the file and rename, so a crash never leaves half a baseline; keep its mode. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.socklens-ack.${process.pid}`;
  const mode = statSync(file).mode & 0o7777;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

/** Cluster: read the object, place the entry, write it back guarded by resourceVersion. */
async function ackInCluster(v: AckValues, e: Edit): Promise<EditResult> {
  if (!v.namespace) throw new UsageError("ack --kubeconfig needs --namespace NS (and --baseline NAME)");
  const namespace = v.namespace;
  const name = v.baseline as string;
  const kc = await kubeConfigFrom(v);
  const { CustomObjectsApi } = await import("@kubernetes/client-node");
  const api = kc.makeApiClient(CustomObjectsApi);
  const ref = { group: GROUP, version: VERSION, plural: PLURAL, namespace, name };
  // A concurrent change makes the test op fail (HTTP 422): read again and retry, a few times.
  for (let attempt = 0; ; attempt++) {
    let obj: {
      metadata?: { resourceVersion?: string; annotations?: Record<string, string> };
      spec?: { exceptions?: BaselineException[] };
    };
    try {
      obj = (await api.getNamespacedCustomObject(ref)) as typeof obj;
    } catch (err) {
      const code = (err as { code?: number }).code;
      throw new InputError(
        code === 404
          ? `no NetworkBaseline ${namespace}/${name}`
          : `cannot read NetworkBaseline ${namespace}/${name}: ${(err as Error).message.split("\n")[0]}`,
        { cause: err },
      );
    }
    const ops: object[] = [
      { op: "test", path: "/metadata/resourceVersion", value: obj.metadata?.resourceVersion },
    ];
    let placed: { index: number; replaced: boolean } | undefined;
    if (e.entry) {
      const existing = obj.spec?.exceptions ?? [];
      try {
        placed = placeException(existing, e.entry);
      } catch (err) {
        throw new InputError((err as Error).message);
      }
      if (!obj.spec?.exceptions) ops.push({ op: "add", path: "/spec/exceptions", value: [e.entry] });
      else if (placed.replaced)
        ops.push({ op: "replace", path: `/spec/exceptions/${placed.index}`, value: e.entry });
      else ops.push({ op: "add", path: "/spec/exceptions/-", value: e.entry });
    }
    if (e.reviewed) {
      const annotations = {
        ...(obj.metadata?.annotations ?? {}),
        [REVIEWED_AT_ANNOTATION]: rfc3339(e.at.getTime()),
        ...(e.by ? { [REVIEWED_BY_ANNOTATION]: e.by } : {}),
      };
      ops.push({ op: "add", path: "/metadata/annotations", value: annotations });
    }
    try {
      await api.patchNamespacedCustomObject({ ...ref, body: ops });
      return {
        where: `NetworkBaseline ${namespace}/${name}`,
        replaced: placed?.replaced ?? false,
        ...(placed ? { index: placed.index } : {}),
      };
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 422 && attempt < 3 && /test/i.test(String((err as Error).message))) continue;
      throw new InputError(
        `cannot update NetworkBaseline ${namespace}/${name}: ${code ? `HTTP ${code}: ` : ""}${(err as Error).message.split("\n")[0]}`,
        { cause: err },
      );
    }
  }
}
