/** The socklens CLI: parse the subcommand, run it, map errors to exit codes. Wiring only. */

import { escapeNonPrintable, escapeText } from "../core/escape.js";
import { ProcRootError } from "../procfs/diagnostics.js";
import { AGENT_HELP, agentCommand } from "./agent.js";
import { BASELINE_HELP, checkCommand, learnCommand, validateCommand } from "./baseline.js";
import { EXIT_USAGE, InputError, UsageError } from "./errors.js";
import { baselineCommand, EXPORT_HELP } from "./export.js";
import { type CliIO, processIO } from "./io.js";
import { NETVIEW_HELP, netViewCommand } from "./netviews.js";
import { OPERATOR_HELP, operatorCommand } from "./operator.js";
import { SCAN_HELP, scanCommand } from "./scan.js";
import { diffCommand, SNAPSHOT_HELP, snapshotCommand } from "./snapshot.js";
import { VERSION } from "./version.js";
import { WATCH_HELP, watchCommand } from "./watch.js";

const HELP = `socklens ${VERSION} — netstat for Kubernetes, with a memory

Usage: socklens <command> [flags]

Commands:
  scan         list sockets with process, container, pod and namespace
  interfaces   interface counters per network namespace
  routes       routes per network namespace
  stats        TCP/UDP protocol counters per network namespace
  snapshot     write every socket and host metadata to a JSON file
  diff A B     compare two snapshots (exit 1 when they differ)
  validate F…  check NetworkBaseline files against the schema
  check        evaluate NetworkBaselines against this host's sockets (exit 1 on findings)
  learn        observe a scope and write the NetworkBaseline that allows what it saw
  watch        scan continuously: baseline checks and the detectors (beacons, growth, leaks, discovery tools)
  agent        the node agent: scan, evaluate pods against baselines, report Events and OTel
  operator     the NetworkBaseline controller: validation, matched pods, violations in status
  baseline export NS/NAME   what Learn mode learned, as a baseline to review
                            (--as networkpolicy: the reviewed spec as a NetworkPolicy)
  version      print the version

Run 'socklens <command> --help' for a command's flags.
Exit codes: 0 ok, 1 findings/differences, 2 usage or input error.
`;

type Command = (args: string[], io: CliIO) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  scan: { run: scanCommand, help: SCAN_HELP },
  interfaces: { run: (a, io) => netViewCommand("interfaces", a, io), help: NETVIEW_HELP },
  routes: { run: (a, io) => netViewCommand("routes", a, io), help: NETVIEW_HELP },
  stats: { run: (a, io) => netViewCommand("stats", a, io), help: NETVIEW_HELP },
  snapshot: { run: snapshotCommand, help: SNAPSHOT_HELP },
  diff: { run: diffCommand, help: SNAPSHOT_HELP },
  validate: { run: validateCommand, help: BASELINE_HELP },
  check: { run: checkCommand, help: BASELINE_HELP },
  learn: { run: learnCommand, help: BASELINE_HELP },
  watch: { run: watchCommand, help: WATCH_HELP },
  agent: { run: agentCommand, help: AGENT_HELP },
  operator: { run: operatorCommand, help: OPERATOR_HELP },
  baseline: { run: baselineCommand, help: EXPORT_HELP },
};

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.out(HELP);
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === "version" || name === "--version") {
    io.out(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`socklens: unknown command "${escapeText(name)}"\n\n${HELP}`);
    return EXIT_USAGE;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    // Messages quote bad input as JSON and may end with usage text: keep our line breaks,
    // escape everything else (src/core/escape.ts).
    if (err instanceof UsageError || err instanceof InputError || err instanceof ProcRootError) {
      io.err(`socklens ${name}: ${escapeNonPrintable(err.message, { keepNewlines: true })}\n`);
      return EXIT_USAGE;
    }
    // node:util parseArgs reports unknown or malformed flags with these codes.
    const code = (err as { code?: string }).code;
    if (code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(
        `socklens ${name}: ${escapeNonPrintable((err as Error).message, { keepNewlines: true })}\n\n${command.help}`,
      );
      return EXIT_USAGE;
    }
    throw err;
  }
}
