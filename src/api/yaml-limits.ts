/**
 * Limits on YAML input (baselines for `validate`, `check`), enforced before the text is
 * expanded into objects: a YAML file is small, but a parser and alias expansion can make it
 * huge or slow. Measured with yaml 2.9 on a 2-core machine: 4 MB of "[" took 118 s and 2 GB
 * to parse; 4 MB of "- - - …" 13 s; a 4 MB file of aliases within yaml's own alias limit
 * expanded into tens of millions of nodes (18.6 s, 2 GB in the schema check); a map of 80,000
 * keys took 58 s because yaml checks duplicate keys pairwise.
 *
 * So, in this order:
 *  1. size (the CLI also refuses to read more than this from a file);
 *  2. before parsing, one pass over the text estimates nesting and node count (an upper
 *     bound of what the parser will build, counted from indentation, indicators and flow
 *     brackets; quoted scalars and comments are skipped);
 *  3. after parsing and before toJS, the syntax tree is walked once to count nodes and depth
 *     exactly *as expanded through aliases*, the number of aliases, recursive aliases, and
 *     duplicate keys (yaml's own pairwise check is turned off: it is quadratic).
 * Each limit, when hit, is named in the problem with where it was hit.
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from "yaml";

export interface YamlLimits {
  /** Bytes in one file. */
  maxBytes: number;
  /** Levels of nesting (collections within collections), aliases followed. */
  maxDepth: number;
  /** Nodes (scalars and collections) in one document once its aliases are expanded. */
  maxNodes: number;
  /** Alias nodes (`*name`) in one document. */
  maxAliases: number;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = {
  maxBytes: 4 * 1024 * 1024,
  maxDepth: 64,
  maxNodes: 100_000,
  maxAliases: 100,
};

/** Where the CLI takes a different size limit from: SOCKLENS_MAX_YAML_BYTES. */
export const MAX_BYTES_ENV = "SOCKLENS_MAX_YAML_BYTES";

export interface LimitProblem {
  message: string;
  /** 0-based offset in the text, when the problem has a place. */
  offset?: number;
}

export function sizeProblem(bytes: number, limits: YamlLimits): LimitProblem | undefined {
  if (bytes <= limits.maxBytes) return undefined;
  return {
    message: `the file is ${bytes} bytes; the limit is ${limits.maxBytes} bytes (${MAX_BYTES_ENV} sets another)`,
  };
}

const SPACE = 32;
const TAB = 9;
const NL = 10;

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB || c === NL || c === 13 || Number.isNaN(c);
}

/**
 * Step 2: one pass over the text, before the parser sees it. Upper bounds, not a parser:
 * depth is the number of increasing indentation levels open, plus the block indicators
 * (`- `, `? `, `: `) on the line, plus open flow brackets; nodes are content lines plus
 * indicators plus flow brackets and commas. A real baseline is far below both.
 */
export function prescanYaml(text: string, limits: YamlLimits): LimitProblem | undefined {
  const indents: number[] = [];
  let flow = 0;
  let nodes = 0;
  let onLine = 0; // block indicators on this line
  let lineStart = true;
  let indent = 0;
  let tokenStart = true; // the previous character separates tokens
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === NL) {
      lineStart = true;
      indent = 0;
      onLine = 0;
      tokenStart = true;
      continue;
    }
    if (lineStart) {
      if (c === SPACE) {
        indent++;
        continue;
      }
      lineStart = false;
      if (c === 35 /* # */) {
        i = skipTo(text, i, NL) - 1;
        continue;
      }
      if (flow === 0) {
        while (indents.length > 0 && (indents[indents.length - 1] as number) >= indent) indents.pop();
        indents.push(indent);
      }
      nodes++;
    }
    if (tokenStart && (c === 34 /* " */ || c === 39) /* ' */) {
      i = skipQuoted(text, i);
      tokenStart = false;
      continue;
    }
    if (c === 35 /* # */ && tokenStart) {
      i = skipTo(text, i, NL) - 1;
      continue;
    }
    const next = text.charCodeAt(i + 1);
    if (((c === 45 /* - */ || c === 63) /* ? */ && tokenStart) || c === 58 /* : */) {
      if (isBlank(next)) {
        // In a flow collection the pairs of one map are siblings, not levels: counted as
        // levels, a one-line selector of 64 labels ({a: x, b: y, …}) read as 65 deep. The
        // bracket already counted the level (and the exact walk after parsing counts all).
        if (flow === 0) onLine++;
        nodes++;
      }
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      flow++;
      nodes++;
    } else if ((c === 93 /* ] */ || c === 125) /* } */ && flow > 0) {
      flow--;
    } else if (c === 44 /* , */ && flow > 0) {
      nodes++;
    }
    tokenStart = c === SPACE || c === TAB || c === 91 || c === 123 || c === 44 || (c === 58 && flow > 0);
    const depth = indents.length + onLine + flow;
    if (depth > limits.maxDepth)
      return {
        offset: i,
        message: `nested more than ${limits.maxDepth} levels deep; the limit is ${limits.maxDepth}`,
      };
    if (nodes > limits.maxNodes)
      return {
        offset: i,
        message: `more than ${limits.maxNodes} YAML nodes in the file; the limit is ${limits.maxNodes}`,
      };
  }
  return undefined;
}

function skipTo(text: string, from: number, char: number): number {
  const end = text.indexOf(String.fromCharCode(char), from);
  return end < 0 ? text.length : end;
}

/** The index of the closing quote of the scalar opened at `start` (or the end of the text). */
function skipQuoted(text: string, start: number): number {
  const quote = text.charCodeAt(start);
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote === 34 && c === 92 /* \ */) i++;
    else if (c === quote) {
      if (quote === 39 && text.charCodeAt(i + 1) === 39) i++;
      else return i;
    }
  }
  return text.length;
}

interface Frame {
  node: Node;
  children: Node[];
  next: number;
  size: number;
  height: number;
}

function childrenOf(node: Node): Node[] {
  if (!isMap(node) && !isSeq(node)) return [];
  const out: Node[] = [];
  for (const item of node.items as unknown[]) {
    if (isPair(item)) {
      if (item.key && typeof item.key === "object") out.push(item.key as Node);
      if (item.value && typeof item.value === "object") out.push(item.value as Node);
    } else if (item && typeof item === "object") out.push(item as Node);
  }
  return out;
}

function duplicateKey(node: Node): Node | undefined {
  if (!isMap(node)) return undefined;
  const seen = new Set<string>();
  for (const pair of node.items) {
    if (!isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    if (seen.has(key)) return pair.key;
    seen.add(key);
  }
  return undefined;
}

/**
 * Step 3: the parsed document, before toJS. Walks the tree once (no recursion, so no stack
 * to overflow), following aliases to the size and height of what they stand for.
 */
export function expansionProblem(doc: Document, limits: YamlLimits): LimitProblem | undefined {
  const root = doc.contents as Node | null;
  if (!root || typeof root !== "object") return undefined;
  const done = new Map<Node, { size: number; height: number }>();
  const anchors = new Map<string, Node>();
  const open = new Set<Node>();
  let aliases = 0;
  const at = (node: Node) => (node.range ? node.range[0] : undefined);
  const problem = (node: Node, message: string): LimitProblem => {
    const offset = at(node);
    return offset === undefined ? { message } : { offset, message };
  };

  const stack: Frame[] = [];
  const enter = (node: Node): LimitProblem | undefined => {
    if (isAlias(node)) {
      aliases++;
      if (aliases > limits.maxAliases)
        return problem(
          node,
          `more than ${limits.maxAliases} aliases in one document; the limit is ${limits.maxAliases}`,
        );
      const target = anchors.get(node.source);
      if (target === undefined) return undefined; // yaml reports the unresolved alias itself
      if (open.has(target))
        return problem(node, `alias *${node.source} refers to a node that contains it (a recursive alias)`);
      done.set(node, done.get(target) ?? { size: 1, height: 1 });
      return undefined;
    }
    if (node.anchor) anchors.set(node.anchor, node);
    const dup = duplicateKey(node);
    if (dup)
      return problem(
        dup,
        `map keys must be unique: ${JSON.stringify(String((dup as { value?: unknown }).value))} appears twice`,
      );
    open.add(node);
    stack.push({ node, children: childrenOf(node), next: 0, size: 1, height: 1 });
    return undefined;
  };

  const first = enter(root);
  if (first) return first;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    if (frame.next < frame.children.length) {
      const child = frame.children[frame.next++] as Node;
      const p = enter(child);
      if (p) return p;
      if (stack.length > limits.maxDepth)
        return problem(
          child,
          `nested more than ${limits.maxDepth} levels deep; the limit is ${limits.maxDepth}`,
        );
      // An alias counts as what it stands for; other children are counted when they are done.
      const leaf = isAlias(child) ? done.get(child) : undefined;
      if (leaf) {
        frame.size += leaf.size;
        frame.height = Math.max(frame.height, leaf.height + 1);
        if (stack.length + leaf.height > limits.maxDepth)
          return problem(
            child,
            `aliases nest the document more than ${limits.maxDepth} levels deep; the limit is ${limits.maxDepth}`,
          );
        if (frame.size > limits.maxNodes)
          return problem(
            child,
            `aliases expand the document to more than ${limits.maxNodes} nodes; the limit is ${limits.maxNodes}`,
          );
      }
      continue;
    }
    stack.pop();
    open.delete(frame.node);
    done.set(frame.node, { size: frame.size, height: frame.height });
    const parent = stack[stack.length - 1];
    if (parent) {
      parent.size += frame.size;
      parent.height = Math.max(parent.height, frame.height + 1);
      if (parent.size > limits.maxNodes)
        return problem(
          frame.node,
          `aliases expand the document to more than ${limits.maxNodes} nodes; the limit is ${limits.maxNodes}`,
        );
    }
  }
  return undefined;
}

/** Offset → line and column (1-based), as the rest of validation reports them. */
export function placeOf(
  lines: LineCounter,
  offset: number | undefined,
): { line: number; col: number } | undefined {
  return offset === undefined ? undefined : lines.linePos(offset);
}
