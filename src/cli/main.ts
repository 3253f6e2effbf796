/** The socklens CLI: parse the subcommand, run it, map errors to exit codes. Wiring only. */

import { escapeNonPrintable, escapeText } from "../core/escape.js";
import { ProcRootError } from "../procfs/diagnostics.js";
import { EXIT_USAGE, InputError, UsageError } from "./errors.js";
import { type CliIO, exitQuietlyOnClosedPipe, processIO } from "./io.js";
import { VERSION } from "./version.js";

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
  report       the summary to read first: findings ranked and explained per workload
  ack KEY      acknowledge a finding pattern (or --confirm an incident) in a baseline
  agent        the node agent: scan, evaluate pods against baselines, report Events and OTel
  operator     the NetworkBaseline controller: validation, matched pods, violations in status
  baseline export NS/NAME   what Learn mode learned, as a baseline to review
                            (--as networkpolicy: the reviewed spec as a NetworkPolicy)
  version      print the version
  completion SHELL          a completion script for bash, zsh or fish

Run 'socklens <command> --help' for a command's flags.
Exit codes: 0 ok, 1 findings/differences, 2 usage or input error,
130/143 learn stopped by SIGINT/SIGTERM (it still writes what it learned).
`;

type Command = (args: string[], io: CliIO) => Promise<number>;

/**
 * Each command's module is loaded only when that command runs: `scan` never loads the
 * Kubernetes client, zod or YAML, and `--version` loads nothing (issue 13: start-up).
 */
const COMMANDS: Record<string, () => Promise<{ run: Command; help: string }>> = {
  scan: async () => {
    const m = await import("./scan.js");
    return { run: m.scanCommand, help: m.SCAN_HELP };
  },
  interfaces: () => netView("interfaces"),
  routes: () => netView("routes"),
  stats: () => netView("stats"),
  snapshot: async () => {
    const m = await import("./snapshot.js");
    return { run: m.snapshotCommand, help: m.SNAPSHOT_HELP };
  },
  diff: async () => {
    const m = await import("./snapshot.js");
    return { run: m.diffCommand, help: m.SNAPSHOT_HELP };
  },
  validate: async () => {
    const m = await import("./baseline.js");
    return { run: m.validateCommand, help: m.BASELINE_HELP };
  },
  check: async () => {
    const m = await import("./baseline.js");
    return { run: (a, io) => m.checkCommand(a, io), help: m.BASELINE_HELP };
  },
  learn: async () => {
    const m = await import("./baseline.js");
    return { run: (a, io) => m.learnCommand(a, io), help: m.BASELINE_HELP };
  },
  watch: async () => {
    const m = await import("./watch.js");
    return { run: (a, io) => m.watchCommand(a, io), help: m.WATCH_HELP };
  },
  agent: async () => {
    const m = await import("./agent.js");
    return { run: m.agentCommand, help: m.AGENT_HELP };
  },
  operator: async () => {
    const m = await import("./operator.js");
    return { run: m.operatorCommand, help: m.OPERATOR_HELP };
  },
  completion: async () => {
    const m = await import("./completion.js");
    return {
      run: (a, io) => m.completionCommand(a, io, Object.keys(COMMANDS), HELP),
      help: m.COMPLETION_HELP,
    };
  },
  report: async () => {
    const m = await import("./report.js");
    return { run: (a, io) => m.reportCommand(a, io), help: m.REPORT_HELP };
  },
  ack: async () => {
    const m = await import("./ack.js");
    return { run: (a, io) => m.ackCommand(a, io), help: m.ACK_HELP };
  },
  baseline: async () => {
    const m = await import("./export.js");
    return { run: m.baselineCommand, help: m.EXPORT_HELP };
  },
};

async function netView(view: "interfaces" | "routes" | "stats"): Promise<{ run: Command; help: string }> {
  const m = await import("./netviews.js");
  return { run: (a, io) => m.netViewCommand(view, a, io), help: m.NETVIEW_HELP };
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  if (io === processIO) exitQuietlyOnClosedPipe();
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.out(HELP);
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === "version" || name === "--version") {
    io.out(`${VERSION}\n`);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    io.err(`socklens: unknown command "${escapeText(name)}"\n\n${HELP}`);
    return EXIT_USAGE;
  }
  const command = await load();
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
