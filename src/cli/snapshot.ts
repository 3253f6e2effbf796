/** `socklens snapshot` and `socklens diff`. */
import { writeFileSync } from "node:fs";
import { textPosition } from "../api/validate.js";
import { diffSnapshots, hasDifferences, type SnapshotDiff } from "../core/diff.js";
import { escapeText } from "../core/escape.js";
import { maskSocket } from "../core/mask.js";
import { renderTable } from "../core/render.js";
import {
  defaultSnapshotName,
  SNAPSHOT_KIND,
  SNAPSHOT_VERSION,
  type Snapshot,
  snapshotProblem,
} from "../core/snapshot.js";
import { collectSockets } from "../procfs/collect.js";
import { readHostFacts } from "../procfs/host.js";
import { procPathsFromEnv } from "../procfs/paths.js";
import { reportDiagnostics } from "./diagnostics.js";
import { EXIT_FINDINGS, EXIT_OK, InputError } from "./errors.js";
import { parseFlags } from "./flags.js";
import { readInputFile } from "./input.js";
import type { CliIO } from "./io.js";
import { parseMasks, parseOutput, toYaml } from "./options.js";
import { sortSockets } from "./scan.js";
import { VERSION } from "./version.js";

export const SNAPSHOT_HELP = `Usage: socklens snapshot [-o FILE|-] [--role ROLE] [--mask CIDR]
       socklens diff BEFORE.json AFTER.json [-o table|json|yaml] [--ignore-state-counts] [--mask CIDR]

snapshot writes every socket with host metadata (hostname, kernel, boot id, UTC time,
collector version, who ran it) to FILE (default: host-role-timestamp-socklens.json in the
current directory; "-" for stdout). --role (default "host") names the machine's role.

diff compares two snapshots: listeners that appeared or disappeared, bind-address changes,
new or vanished peers, TCP state-count changes. Exit 0: no difference; 1: differences.
`;

export const SNAPSHOT_OPTIONS = {
  output: { type: "string", short: "o" },
  role: { type: "string", default: "host" },
  mask: { type: "string", multiple: true },
  debug: { type: "boolean" },
} as const;

export const DIFF_OPTIONS = {
  output: { type: "string", short: "o" },
  "ignore-state-counts": { type: "boolean" },
  mask: { type: "string", multiple: true },
} as const;

export async function snapshotCommand(
  args: string[],
  io: CliIO,
  now: () => Date = () => new Date(),
): Promise<number> {
  const { values } = parseFlags(args, SNAPSHOT_OPTIONS);
  const masks = parseMasks(values.mask, io.env);
  const paths = procPathsFromEnv(io.env);
  const result = await collectSockets({ paths });
  reportDiagnostics(result.diagnostics, io, values.debug ?? false);
  const sockets = result.sockets.map((s) => maskSocket(s, masks));
  sortSockets(sockets);
  const facts = readHostFacts(paths.proc);
  const snapshot: Snapshot = {
    kind: SNAPSHOT_KIND,
    version: SNAPSHOT_VERSION,
    metadata: { ...facts, timestamp: now().toISOString(), collectorVersion: VERSION, role: values.role },
    namespaces: result.namespaces.map(({ inode, name, processes }) =>
      name ? { inode, name, processes } : { inode, processes },
    ),
    sockets,
  };
  const text = `${JSON.stringify(snapshot)}\n`;
  if (values.output === "-") {
    io.out(text);
    return EXIT_OK;
  }
  const file = values.output ?? defaultSnapshotName(snapshot.metadata);
  try {
    writeFileSync(file, text);
  } catch (err) {
    throw new InputError(`cannot write snapshot to ${file}: ${(err as Error).message}`, { cause: err });
  }
  io.err(`socklens: wrote ${sockets.length} sockets to ${escapeText(file)}\n`);
  return EXIT_OK;
}

// Near the longest string V8 holds (2^29 characters): a larger snapshot could not be parsed anyway.
const SNAPSHOT_MAX_BYTES = 500 * 1024 * 1024;

export function readSnapshot(file: string): Snapshot {
  const input = readInputFile(file, SNAPSHOT_MAX_BYTES);
  if ("problem" in input) throw new InputError(`${file}: ${input.problem}`);
  const text = input.text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8 says "at position N": say line and column, as for YAML.
    const message = (err as Error).message;
    const at = /at position (\d+)/.exec(message);
    const pos = at ? textPosition(text, Number(at[1])) : undefined;
    const where = pos ? `:${pos.line}:${pos.col}` : "";
    throw new InputError(`${file}${where}: not valid JSON: ${message}`, { cause: err });
  }
  const problem = snapshotProblem(value);
  if (problem) throw new InputError(`${file}: not a socklens snapshot: ${problem}`);
  return value as Snapshot;
}

export async function diffCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(args, DIFF_OPTIONS, true);
  if (positionals.length !== 2)
    throw new InputError(`diff needs two snapshot files, got ${positionals.length}\n\n${SNAPSHOT_HELP}`);
  const format = parseOutput(values.output, ["table", "json", "yaml"]);
  const [a, b] = positionals as [string, string];
  const masks = parseMasks(values.mask, io.env);
  // Snapshots taken without --mask are masked here, so the diff shows no sensitive address.
  const before = readSnapshot(a);
  const after = readSnapshot(b);
  before.sockets = before.sockets.map((s) => maskSocket(s, masks));
  after.sockets = after.sockets.map((s) => maskSocket(s, masks));
  const diff = diffSnapshots(before.sockets, after.sockets);
  if (format === "json") io.out(`${JSON.stringify(diff, null, 2)}\n`);
  else if (format === "yaml") io.out(await toYaml(diff));
  else io.out(renderDiff(diff, before, after));
  return hasDifferences(diff, { ignoreStateCounts: values["ignore-state-counts"] ?? false })
    ? EXIT_FINDINGS
    : EXIT_OK;
}

function renderDiff(d: SnapshotDiff, before: Snapshot, after: Snapshot): string {
  const lines: string[] = [
    `before: ${escapeText(before.metadata.hostname)} ${escapeText(before.metadata.timestamp)}`,
    `after:  ${escapeText(after.metadata.hostname)} ${escapeText(after.metadata.timestamp)}`,
  ];
  const section = (title: string, headers: string[], rows: string[][]) => {
    if (rows.length) lines.push("", `${title}:`, renderTable(headers, rows));
  };
  const listenerRows = (sign: string, list: SnapshotDiff["listenersAdded"]) =>
    list.map((l) => [sign, l.scope, l.protocol, `${l.address}:${l.port}`, l.process ?? "-"]);
  section(
    "Listeners",
    ["", "Scope", "Proto", "Address", "Process"],
    [...listenerRows("+", d.listenersAdded), ...listenerRows("-", d.listenersRemoved)],
  );
  section(
    "Bind address changed",
    ["Scope", "Proto", "Port", "Before", "After", "Process"],
    d.bindChanged.map((c) => [
      c.scope,
      c.protocol,
      String(c.port),
      c.before.join(","),
      c.after.join(","),
      c.process ?? "-",
    ]),
  );
  const peerRows = (sign: string, list: SnapshotDiff["peersAdded"]) =>
    list.map((p) => [
      sign,
      p.scope,
      p.direction,
      p.protocol,
      p.peerAddress,
      String(p.port),
      p.process ?? "-",
    ]);
  section(
    "Peers",
    ["", "Scope", "Direction", "Proto", "Peer", "Port", "Process"],
    [...peerRows("+", d.peersAdded), ...peerRows("-", d.peersRemoved)],
  );
  section(
    "TCP states",
    ["State", "Before", "After"],
    d.stateCounts.map((c) => [c.state, String(c.before), String(c.after)]),
  );
  if (lines.length === 2) lines.push("", "no differences");
  return `${lines.join("\n")}\n`;
}
