// Where a V8 CPU profile (node --cpu-prof) spent its time: self time summed by function and
// by file/package, and inclusive time of a few named phases. Used to profile the operator's
// restart (bench/README.md, "Cluster scale"); works on any .cpuprofile.
//
//   scripts/node.sh npx tsx bench/cpuprofile.ts FILE.cpuprofile [--top 30] [--focus NAME,NAME]
//
// --focus: for each function name given, the inclusive time of every call stack through it
// (a frame counted once per sample even when it recurses).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  options: { top: { type: "string", default: "30" }, focus: { type: "string", default: "" } },
  allowPositionals: true,
});
const file = positionals[0];
if (!file) {
  process.stderr.write("usage: bench/cpuprofile.ts FILE.cpuprofile [--top N] [--focus NAME,NAME]\n");
  process.exit(2);
}
const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** Which package or file a frame belongs to: node_modules/<pkg>, node:internal, dist/<dir>. */
function area(url: string): string {
  if (!url) return "(native/V8)";
  const nm = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (nm) return nm[1] as string;
  if (url.startsWith("node:")) return url.split("/").slice(0, 2).join("/");
  const ours = url.match(/\/(dist|src)\/(.*)$/);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}
const label = (f: Frame) =>
  `${f.functionName || "(anonymous)"} ${area(f.url)}${f.url ? `:${f.lineNumber + 1}` : ""}`;

const self = new Map<string, number>();
const byArea = new Map<string, number>();
const focus = values.focus ? values.focus.split(",") : [];
const inclusive = new Map<string, number>(focus.map((f) => [f, 0]));
let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  const dt = (p.timeDeltas[i] ?? 0) / 1000; // µs → ms
  total += dt;
  const node = byId.get(p.samples[i] as number);
  if (!node) continue;
  const key = label(node.callFrame);
  self.set(key, (self.get(key) ?? 0) + dt);
  const ar = node.callFrame.functionName.startsWith("(")
    ? node.callFrame.functionName
    : area(node.callFrame.url);
  byArea.set(ar, (byArea.get(ar) ?? 0) + dt);
  if (focus.length) {
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const name = byId.get(id)?.callFrame.functionName ?? "";
      if (inclusive.has(name) && !seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
      }
    }
  }
}
const top = Number(values.top);
const table = (title: string, m: Map<string, number>, n: number) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of [...m].sort((x, y) => y[1] - x[1]).slice(0, n))
    process.stdout.write(
      `${v.toFixed(0).padStart(8)} ms ${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}\n`,
    );
};
process.stdout.write(
  `${file}: ${(total / 1000).toFixed(2)} s sampled over ${((p.endTime - p.startTime) / 1e6).toFixed(2)} s wall\n`,
);
table("self time by package/file", byArea, top);
table("self time by function", self, top);
if (focus.length) table("inclusive time through", inclusive, focus.length);
