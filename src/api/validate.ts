/**
 * Validation of NetworkBaseline documents, for `socklens validate/check/learn` and the operator:
 * YAML syntax, then the zod schema, then semantic checks the schema cannot express. Every
 * problem names the file, line and column, the field path, the bad value and what is valid.
 */
import { type Document, isMap, isSeq, LineCounter, parseAllDocuments } from "yaml";
import type { z } from "zod";
import { parseIp } from "../net/address.js";
import { cidrContains, parseCidr } from "../net/cidr.js";
import { unknownFields } from "./unknown-fields.js";
import {
  NetworkBaseline,
  type NetworkBaseline as NetworkBaselineT,
  type PortRange,
} from "./v1alpha1/networkbaseline.js";
import {
  DEFAULT_YAML_LIMITS,
  expansionProblem,
  type LimitProblem,
  placeOf,
  prescanYaml,
  sizeProblem,
  type YamlLimits,
} from "./yaml-limits.js";

export interface ValidationProblem {
  file: string;
  line?: number;
  col?: number;
  /** Dotted field path, e.g. spec.egress[0].to[1].ipBlock.cidr */
  path: string;
  message: string;
}

export interface ValidatedBaseline {
  baseline: NetworkBaselineT;
  file: string;
  /** 1-based index of the YAML document in the file. */
  doc: number;
  line: number;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out || "(document)";
}

export function formatProblem(p: ValidationProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.col ?? 1}`;
  return `${where}: ${p.path}: ${p.message}`;
}

function position(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
): { line: number; col: number } | undefined {
  // Walk down as far as the path exists: a missing field points at its parent.
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as (string | number)[], true) as
      | { range?: [number, number, number] }
      | undefined;
    const range =
      node?.range ??
      (n === 0 ? (doc.contents as { range?: [number, number, number] } | null)?.range : undefined);
    if (range) {
      const { line, col } = lines.linePos(range[0]);
      return { line, col };
    }
  }
  return undefined;
}

/** Line and column of a map key (an unknown field points at its name, not at its value). */
function keyPosition(
  doc: Document,
  lines: LineCounter,
  path: readonly (string | number)[],
): { line: number; col: number } | undefined {
  const parentPath = path.slice(0, -1);
  const parent = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
  const key = path[path.length - 1];
  if (isMap(parent))
    for (const pair of parent.items) {
      const k = pair.key as { value?: unknown; range?: [number, number, number] } | null;
      if (k?.range && String(k.value) === String(key)) return lines.linePos(k.range[0]);
    }
  return position(doc, lines, path);
}

/** "`spec.listners` is not a field; did you mean `spec.listeners`?" */
export function unknownFieldMessage(
  path: readonly (string | number)[],
  suggestion: string | undefined,
  known: readonly string[],
): string {
  const field = formatPath(path);
  if (suggestion !== undefined)
    return `\`${field}\` is not a field; did you mean \`${formatPath([...path.slice(0, -1), suggestion])}\`?`;
  return `\`${field}\` is not a field; the fields here are ${known.map((k) => `\`${k}\``).join(", ")}`;
}

export function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  const got = value === undefined ? "missing" : `got ${JSON.stringify(value)}`;
  switch (issue.code) {
    case "invalid_value":
      return `${got}; expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_type":
      // A message the schema wrote itself says more than zod's "Invalid input: expected …".
      return issue.message.startsWith("Invalid input")
        ? `${got}; expected ${issue.expected}`
        : `${got}; ${issue.message}`;
    case "unrecognized_keys":
      return `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    default:
      return `${got}; ${issue.message}`;
  }
}

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** Line and column of an offset, counted in the text (for problems found before parsing). */
export function textPosition(
  text: string,
  offset: number | undefined,
): { line: number; col: number } | undefined {
  if (offset === undefined) return undefined;
  let line = 1;
  let start = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/** Checks the schema cannot express (the CRD has CEL rules for most of them too). */
export function semanticProblems(b: NetworkBaselineT): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const checkCidr = (path: (string | number)[], text: string) => {
    try {
      parseCidr(text);
      return true;
    } catch (err) {
      out.push({
        path,
        message: `${(err as Error).message}; expected a CIDR such as 10.0.0.0/8 or fd00::/8`,
      });
      return false;
    }
  };
  const checkPorts = (path: (string | number)[], ports: PortRange[] | undefined) => {
    ports?.forEach((p, i) => {
      if (p.endPort === undefined) return;
      if (typeof p.port !== "number")
        out.push({
          path: [...path, i, "endPort"],
          message: `endPort ${p.endPort} needs a numeric port, got ${JSON.stringify(p.port)}`,
        });
      else if (p.endPort < p.port)
        out.push({
          path: [...path, i, "endPort"],
          message: `endPort ${p.endPort} is below port ${p.port}; expected endPort >= port`,
        });
    });
  };
  const spec = b.spec;
  spec.listeners?.forEach((l, i) => {
    if (l.address !== undefined && !parseIp(l.address))
      out.push({
        path: ["spec", "listeners", i, "address"],
        message: `got ${JSON.stringify(l.address)}; expected an IP address such as 127.0.0.1, 0.0.0.0 or ::`,
      });
    if (l.endPort !== undefined && (typeof l.port !== "number" || l.endPort < l.port))
      out.push({
        path: ["spec", "listeners", i, "endPort"],
        message: `endPort ${l.endPort} needs a numeric port <= it, got port ${JSON.stringify(l.port)}`,
      });
  });
  for (const [dir, peersKey] of [
    ["egress", "to"],
    ["ingress", "from"],
  ] as const) {
    const rules = (spec[dir] ?? []) as { to?: unknown[]; from?: unknown[]; ports?: PortRange[] }[];
    rules.forEach((rule, r) => {
      checkPorts(["spec", dir, r, "ports"], rule.ports);
      const peers = (rule[peersKey] ?? []) as NonNullable<NetworkBaselineT["spec"]["egress"]>[number]["to"] &
        object;
      peers.forEach((peer, p) => {
        const base: (string | number)[] = ["spec", dir, r, peersKey, p];
        const kinds = [
          peer.podSelector || peer.namespaceSelector,
          peer.ipBlock,
          peer.service,
          peer.entity,
        ].filter((x) => x !== undefined).length;
        if (kinds !== 1)
          out.push({
            path: base,
            message: `a peer is exactly one of podSelector/namespaceSelector, ipBlock, service, entity; got ${kinds}`,
          });
        // Host bits are the schema's (the Cidr type): here what needs both CIDRs at once.
        if (peer.ipBlock && checkCidr([...base, "ipBlock", "cidr"], peer.ipBlock.cidr)) {
          const outer = parseCidr(peer.ipBlock.cidr);
          peer.ipBlock.except?.forEach((e, i) => {
            if (!checkCidr([...base, "ipBlock", "except", i], e)) return;
            const inner = parseCidr(e);
            if (
              inner.bytes.length !== outer.bytes.length ||
              inner.prefix < outer.prefix ||
              !cidrContains(outer, e.split("/")[0] ?? "")
            ) {
              out.push({
                path: [...base, "ipBlock", "except", i],
                message: `${e} is not inside ${peer.ipBlock?.cidr}; except entries must be sub-ranges of cidr`,
              });
            }
          });
        }
      });
    });
  }
  return out;
}

/**
 * Validate every document of a YAML text. Never throws on bad input; input over the limits
 * (src/api/yaml-limits.ts) is one problem naming the limit, found before it is expanded.
 */
export function validateBaselines(
  text: string,
  file: string,
  limits: YamlLimits = DEFAULT_YAML_LIMITS,
): { baselines: ValidatedBaseline[]; problems: ValidationProblem[] } {
  const lines = new LineCounter();
  const baselines: ValidatedBaseline[] = [];
  const problems: ValidationProblem[] = [];
  const limitProblem = (p: LimitProblem, where: { line: number; col: number } | undefined) => {
    problems.push({ file, ...where, path: "(yaml)", message: p.message });
    return { baselines, problems };
  };
  const early = sizeProblem(Buffer.byteLength(text), limits) ?? prescanYaml(text, limits);
  // Before parsing, positions are counted in the text itself.
  if (early) return limitProblem(early, textPosition(text, early.offset));
  // Duplicate keys are found in expansionProblem: yaml's own check compares every pair of keys.
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) {
    problems.push({ file, path: "(file)", message: "not a YAML stream" });
  }
  let documents = 0;
  list.forEach((doc, index) => {
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const { line, col } = lines.linePos(e.pos[0]);
        problems.push({ file, line, col, path: "(yaml)", message: e.message.split("\n")[0] ?? e.message });
      }
      return;
    }
    const tooBig = expansionProblem(doc, limits);
    if (tooBig) {
      limitProblem(tooBig, placeOf(lines, tooBig.offset));
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliases });
    } catch (err) {
      // An unresolved alias, or yaml's own alias limit: a problem of this document.
      problems.push({ file, ...position(doc, lines, []), path: "(yaml)", message: (err as Error).message });
      return;
    }
    if (value === null || value === undefined) return; // an empty document between separators
    documents++;
    if (!isMap(doc.contents) && !isSeq(doc.contents)) {
      problems.push({
        file,
        ...position(doc, lines, []),
        path: "(document)",
        message: "expected a NetworkBaseline object",
      });
      return;
    }
    const found: ValidationProblem[] = [];
    // Unknown fields first: zod drops them, and a misspelled optional field would otherwise
    // just be absent (a baseline that silently checks less).
    for (const u of unknownFields(NetworkBaseline, value))
      found.push({
        file,
        ...keyPosition(doc, lines, u.path),
        path: formatPath(u.path),
        message: unknownFieldMessage(u.path, u.suggestion, u.known),
      });
    const parsed = NetworkBaseline.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        found.push({
          file,
          ...position(doc, lines, issue.path),
          path: formatPath(issue.path),
          message: describeIssue(issue, valueAt(value, issue.path)),
        });
      }
    } else {
      for (const s of semanticProblems(parsed.data))
        found.push({ file, ...position(doc, lines, s.path), path: formatPath(s.path), message: s.message });
    }
    // In the order of the file, as an editor would walk them.
    found.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
    problems.push(...found);
    if (parsed.success && found.length === 0)
      baselines.push({
        baseline: parsed.data,
        file,
        doc: index + 1,
        line: position(doc, lines, [])?.line ?? 1,
      });
  });
  if (documents === 0 && problems.length === 0)
    problems.push({
      file,
      path: "(file)",
      message:
        "the file holds no document (it is empty or only comments); expected at least one NetworkBaseline (apiVersion, kind, metadata.name, spec)",
    });
  return { baselines, problems };
}
