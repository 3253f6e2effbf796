/**
 * Mutated /proc trees for test/unit/fuzz-proc.test.ts.
 *
 * A seed tree (test/fixtures/fuzz-seed/proc, captured by scripts/fuzz-seed.ts) is loaded into
 * memory once. A Mutation is abstract (an operation and a few numbers, what fast-check
 * generates and shrinks); `concretize` turns a list of them into Patches against the seed:
 * concrete, serializable changes (this path becomes this text, a directory, a FIFO…), which
 * is what a crasher fixture (test/fixtures/fuzz-crashers/*.json) stores. File contents are
 * latin1 strings, one character per byte, so any byte sequence round-trips through JSON.
 */
import {
  cpSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import fc from "fast-check";

export type Entry = { kind: "file"; data: string } | { kind: "link"; target: string } | { kind: "dir" };

/** Seed paths relative to the proc root ("100/net/tcp"), sorted so parents come first. */
export type Seed = Map<string, Entry>;

/** Bytes as latin1 text, or a run of one string repeated (a 2 MB line stays small in JSON). */
export type Piece = string | { repeat: string; times: number };

export type Patch =
  | { path: string; file: Piece[] }
  | { path: string; link: string }
  | { path: string; dir: true }
  | { path: string; fifo: true }
  | { path: string; socket: true }
  | { path: string; remove: true };

export function loadSeed(procRoot: string): Seed {
  const seed: Seed = new Map();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(procRoot, rel)).sort()) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const full = join(procRoot, path);
      const st = lstatSync(full);
      if (st.isSymbolicLink()) seed.set(path, { kind: "link", target: readlinkSync(full) });
      else if (st.isDirectory()) {
        seed.set(path, { kind: "dir" });
        walk(path);
      } else seed.set(path, { kind: "file", data: readFileSync(full, "latin1") });
    }
  };
  walk("");
  return seed;
}

export function writeEntry(root: string, path: string, e: Entry): void {
  const full = join(root, path);
  if (e.kind === "dir") mkdirSync(full, { recursive: true });
  else if (e.kind === "link") symlinkSync(e.target, full);
  else writeFileSync(full, Buffer.from(e.data, "latin1"));
}

export function pieceText(content: Piece[]): string {
  return content.map((p) => (typeof p === "string" ? p : p.repeat.repeat(p.times))).join("");
}

/**
 * Special files (a FIFO, a unix socket) are hard links to masters made once: creating a FIFO
 * needs mkfifo(1), and a hard link costs no process.
 */
export interface SpecialFiles {
  fifo: string;
  socket: string;
}

/**
 * Apply patches to a tree under `root`. Returns the entries to restore afterwards: for each
 * patch, its path or the nearest ancestor that another patch changed or the seed lacks (a
 * directory the patch made on its way).
 */
export function applyPatches(
  root: string,
  patches: readonly Patch[],
  special: SpecialFiles,
  seed?: Seed,
): string[] {
  const realRoot = realpathSync(root);
  const patched = new Set(patches.map((p) => p.path));
  const touched = new Set<string>();
  for (const p of patches) {
    const parts = p.path.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      if (patched.has(prefix) || (seed !== undefined && !seed.has(prefix))) {
        touched.add(prefix);
        break;
      }
    }
    const full = join(root, p.path);
    try {
      mkdirSync(dirname(full), { recursive: true });
      // Never write through a link an earlier patch made (it could lead out of what restore restores).
      if (realpathSync(dirname(full)) !== join(realRoot, dirname(p.path))) continue;
      rmSync(full, { recursive: true, force: true });
      if ("file" in p) writeFileSync(full, Buffer.from(pieceText(p.file), "latin1"));
      else if ("link" in p) symlinkSync(p.link, full);
      else if ("dir" in p) mkdirSync(full);
      else if ("fifo" in p) linkSync(special.fifo, full);
      else if ("socket" in p) linkSync(special.socket, full);
    } catch {
      // The parent is no directory any more (an earlier patch replaced it): the patch is moot.
    }
  }
  // Outermost first; an entry under another one is restored with it.
  const sorted = [...touched].sort();
  return sorted.filter((t, i) => !sorted.slice(0, i).some((o) => t.startsWith(`${o}/`)));
}

/** Put entries back as they are in the seed (with everything under them). */
export function restore(root: string, seed: Seed, touched: Iterable<string>): void {
  for (const path of touched) {
    rmSync(join(root, path), { recursive: true, force: true });
    for (const [p, e] of seed) if (p === path || p.startsWith(`${path}/`)) writeEntry(root, p, e);
  }
}

/** A fresh copy of the seed with patches applied (for CLI runs, which need a tree each). */
export function materialize(
  seedDir: string,
  to: string,
  patches: readonly Patch[],
  special: SpecialFiles,
): void {
  cpSync(seedDir, to, { recursive: true, verbatimSymlinks: true });
  applyPatches(to, patches, special);
}

// ---------------------------------------------------------------------------------------------
// Mutations

/** Values that have broken parsers before: huge and odd numbers, non-hex, JS property names, controls. */
export const DICTIONARY = [
  "99999999999999999999",
  "18446744073709551616",
  "4294967296",
  "9007199254740993",
  "-1",
  "1e309",
  "NaN",
  "Infinity",
  "0x10",
  "GGGGGGGG",
  "ffffffffffffffffffffffffffffffffff",
  "",
  "0",
  "00",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "\x1b[2J\x1b[31m",
  "\x1b]0;owned\x07",
  "a\nb",
  "x\r\ny",
  "\u00e2\u0080\u00ae", // U+202E (right-to-left override) as UTF-8 bytes
  "\u00ff\u00fe",
  "9".repeat(400),
  "-",
  ":",
  "../../..",
  "socket:[1]",
  "net:[1]",
];

/** Bytes inserted at a random offset. */
export const INSERTS = ["\n", "\0", "\r", "\t", " ", ":", "\x1b[31m", "\n\n\n", "\0\0\0\0", "\x7f", "\u00c0"];

/** New targets for the links of the tree (ns/net, fd/N, self). */
export const LINK_TARGETS = [
  "net:[]",
  "net:[99999999999999999999]",
  "net:[-1]",
  "net:[1e3]",
  "net:[4026531840]x",
  "net:[0]",
  "socket:[",
  "socket:[]",
  "socket:[99999999999999999999]",
  "socket:[1e3]",
  "socket:[-5]",
  "socket:[0]",
  "socket:[553561]",
  "socket:[554005]",
  "pipe:[553561]",
  "",
  "/",
  "..",
];

/** Names a directory under the proc root may have that look like pids, more or less. */
export const PID_NAMES = ["00100", "1e3", "0x10", "4294967297", "99999999999999999999", "0", "100.0", "7"];

export const CONTENT_OPS = [
  "truncate",
  "cut-line",
  "flip",
  "insert",
  "field",
  "replace-all",
  "dup-line",
  "many-lines",
  "del-line",
  "swap-lines",
  "empty",
  "big-line",
  "splice",
] as const;
export const TYPE_OPS = [
  "to-dir",
  "to-loop",
  "to-dangling",
  "to-fifo",
  "to-socket",
  "to-devzero",
  "to-devnull",
  "to-file",
  "remove",
  "link-target",
  "add-pid",
] as const;
export type Op = (typeof CONTENT_OPS)[number] | (typeof TYPE_OPS)[number];

export interface Mutation {
  op: Op;
  /** Which entry (an index into the candidates of the op's kind, modulo their number). */
  target: number;
  a: number;
  b: number;
}

export function mutationArb(): fc.Arbitrary<Mutation> {
  const nat = fc.nat({ max: 0x7fffffff });
  const small = CONTENT_OPS.filter((op) => op !== "big-line" && op !== "many-lines");
  return fc.record({
    // Contents three times as often as types: most of a tree's text is where parsers live. The
    // big ones (a 2 MB line, thousands of rows) cost a hundred times more: one tree in 25 has one.
    op: fc.oneof(
      { weight: 66, arbitrary: fc.constantFrom(...small) },
      { weight: 3, arbitrary: fc.constantFrom("big-line" as const, "many-lines" as const) },
      { weight: 23, arbitrary: fc.constantFrom(...TYPE_OPS) },
    ),
    target: nat,
    a: nat,
    b: nat,
  });
}

export function mutationsArb(maxLength = 4): fc.Arbitrary<Mutation[]> {
  return fc.array(mutationArb(), { minLength: 1, maxLength });
}

const pick = <T>(list: readonly T[], n: number): T => list[n % list.length] as T;

function splitLines(text: string): string[] {
  return text.split("\n");
}

/** Turn abstract mutations into patches, applying each to the result of the ones before. */
export function concretize(seed: Seed, mutations: readonly Mutation[]): Patch[] {
  // The tree as the mutations so far left it; absent = removed (or never there).
  const now = new Map<string, Entry>(seed);
  const patches: Patch[] = [];
  const files = () => [...now].filter(([, e]) => e.kind === "file").map(([p]) => p);
  const links = () => [...now].filter(([, e]) => e.kind === "link").map(([p]) => p);
  const all = () => [...now.keys()];
  const setFile = (path: string, content: Piece[]) => {
    patches.push({ path, file: content });
    now.set(path, { kind: "file", data: pieceText(content) });
  };
  const dropUnder = (path: string) => {
    for (const p of [...now.keys()]) if (p === path || p.startsWith(`${path}/`)) now.delete(p);
  };
  const replace = (path: string, patch: Patch, entry: Entry | null) => {
    dropUnder(path);
    patches.push(patch);
    if (entry) now.set(path, entry);
  };

  for (const m of mutations) {
    if ((CONTENT_OPS as readonly string[]).includes(m.op)) {
      const list = files();
      if (list.length === 0) continue;
      const path = pick(list, m.target);
      const text = (now.get(path) as { data: string }).data;
      const lines = splitLines(text);
      const li = m.a % lines.length;
      const line = lines[li] as string;
      switch (m.op) {
        case "truncate":
          setFile(path, [text.slice(0, m.a % (text.length + 1))]);
          break;
        case "cut-line":
          lines[li] = line.slice(0, m.b % (line.length + 1));
          setFile(path, [lines.join("\n")]);
          break;
        case "flip": {
          if (text.length === 0) break;
          const at = m.a % text.length;
          const byte = text.charCodeAt(at) ^ (1 << (m.b % 8));
          setFile(path, [text.slice(0, at) + String.fromCharCode(byte) + text.slice(at + 1)]);
          break;
        }
        case "insert": {
          const at = m.a % (text.length + 1);
          setFile(path, [text.slice(0, at) + pick(INSERTS, m.b) + text.slice(at)]);
          break;
        }
        case "field":
        case "replace-all": {
          // Words are runs without whitespace or ':' (so "0100007F:1F90" is two, "Tcp:" one).
          let words = [...text.matchAll(/[^\s:]+/g)];
          // Half the time a line's first word: a key (a group of snmp, a field of status).
          const keys = words.filter((w) => w.index === 0 || text[(w.index ?? 0) - 1] === "\n");
          if (keys.length > 0 && (m.b >>> 16) % 2 === 0) words = keys;
          if (words.length === 0) break;
          const w = pick(words, m.a);
          const token = pick(DICTIONARY, m.b);
          if (m.op === "field") {
            const at = w.index ?? 0;
            setFile(path, [text.slice(0, at) + token + text.slice(at + w[0].length)]);
          } else {
            // Every occurrence of the word as a whole word (a group name on both of its lines).
            const re = new RegExp(
              `(?<![^\\s:])${w[0].replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![^\\s:])`,
              "g",
            );
            setFile(path, [text.replace(re, () => token)]);
          }
          break;
        }
        case "dup-line":
          lines.splice(li, 0, ...new Array<string>(1 + (m.b % 3)).fill(line));
          setFile(path, [lines.join("\n")]);
          break;
        case "many-lines": {
          // One line repeated 500 to 5,000 times: a table with many rows (one inode, many records).
          const times = 500 + (m.b % 4501);
          setFile(path, [
            lines.slice(0, li + 1).join("\n"),
            "\n",
            { repeat: `${line}\n`, times },
            lines.slice(li + 1).join("\n"),
          ]);
          break;
        }
        case "del-line":
          lines.splice(li, 1);
          setFile(path, [lines.join("\n")]);
          break;
        case "swap-lines": {
          const lj = m.b % lines.length;
          lines[li] = lines[lj] as string;
          lines[lj] = line;
          setFile(path, [lines.join("\n")]);
          break;
        }
        case "empty":
          setFile(path, [""]);
          break;
        case "big-line": {
          // 2 MB: of one letter, of hex digits, of spaces, or a record whose last field is endless.
          const kind = m.b % 4;
          const before = lines.slice(0, li + 1).join("\n");
          const after = lines.slice(li + 1).join("\n");
          const big: Piece =
            kind === 0
              ? { repeat: "A", times: 2 << 20 }
              : kind === 1
                ? { repeat: "0", times: 2 << 20 }
                : kind === 2
                  ? { repeat: " ", times: 2 << 20 }
                  : { repeat: "/x", times: 1 << 20 };
          setFile(path, kind === 3 ? [before, big, "\n", after] : [before, "\n", big, "\n", after]);
          break;
        }
        case "splice": {
          // A line of another file (tables of one kind share shapes; of another kind they do not).
          const other = pick(list, m.b);
          const otherLines = splitLines((now.get(other) as { data: string }).data);
          lines.splice(li, 0, pick(otherLines, m.b >>> 3));
          setFile(path, [lines.join("\n")]);
          break;
        }
      }
      continue;
    }
    // Types: any entry (a file, a directory, a link, a pid directory).
    const list = m.op === "link-target" ? links() : all();
    if (list.length === 0) continue;
    const path = pick(list, m.target);
    switch (m.op) {
      case "to-dir":
        replace(path, { path, dir: true }, { kind: "dir" });
        break;
      case "to-loop": {
        const name = path.split("/").pop() as string;
        replace(path, { path, link: name }, { kind: "link", target: name });
        break;
      }
      case "to-dangling":
        replace(path, { path, link: "no-such-entry" }, { kind: "link", target: "no-such-entry" });
        break;
      case "to-fifo":
        replace(path, { path, fifo: true }, { kind: "file", data: "" });
        break;
      case "to-socket":
        replace(path, { path, socket: true }, { kind: "file", data: "" });
        break;
      case "to-devzero":
        replace(path, { path, link: "/dev/zero" }, { kind: "link", target: "/dev/zero" });
        break;
      case "to-devnull":
        replace(path, { path, link: "/dev/null" }, { kind: "link", target: "/dev/null" });
        break;
      case "to-file": {
        const data = pick(DICTIONARY, m.a);
        replace(path, { path, file: [data] }, { kind: "file", data });
        break;
      }
      case "remove":
        replace(path, { path, remove: true }, null);
        break;
      case "link-target": {
        const target = pick(LINK_TARGETS, m.a);
        replace(path, { path, link: target }, { kind: "link", target });
        break;
      }
      case "add-pid": {
        // A copy of a pid directory under a name that may or may not be a pid.
        const pids = [...now].filter(([p, e]) => e.kind === "dir" && /^\d+$/.test(p)).map(([p]) => p);
        if (pids.length === 0) break;
        const from = pick(pids, m.target);
        const to = pick(PID_NAMES, m.a);
        if (now.has(to)) break;
        for (const [p, e] of [...now]) {
          if (p !== from && !p.startsWith(`${from}/`)) continue;
          const np = to + p.slice(from.length);
          const patch: Patch =
            e.kind === "dir"
              ? { path: np, dir: true }
              : e.kind === "link"
                ? { path: np, link: e.target }
                : { path: np, file: [e.data] };
          patches.push(patch);
          now.set(np, e);
        }
        break;
      }
    }
  }
  return patches;
}

/** Short text for a failure message: the patches, with long contents elided. */
export function describePatches(patches: readonly Patch[]): string {
  return JSON.stringify(
    patches.map((p) =>
      "file" in p
        ? {
            path: p.path,
            file: p.file.map((x) =>
              typeof x === "string" && x.length > 300 ? `${x.slice(0, 300)}…(${x.length} bytes)` : x,
            ),
          }
        : p,
    ),
  );
}
