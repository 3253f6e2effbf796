/**
 * `socklens completion bash|zsh|fish`: a completion script on stdout, as kubectl and helm
 * print theirs. The flags come from the same option tables the commands parse with, so a
 * new flag is completed without anyone remembering to add it here.
 */
import type { ParseArgsOptionsConfig } from "node:util";
import { ALL_STATE_NAMES } from "../net/states.js";
import { EXIT_OK, UsageError } from "./errors.js";
import type { CliIO } from "./io.js";

export const COMPLETION_HELP = `Usage: socklens completion bash|zsh|fish

Prints a shell completion script for socklens (commands, flags, and the values of -o,
--proto, --state, --as). Load it:
  bash:  source <(socklens completion bash)          (or save it under /etc/bash_completion.d/)
  zsh:   socklens completion zsh > "\${fpath[1]}/_socklens"   (then restart zsh)
  fish:  socklens completion fish > ~/.config/fish/completions/socklens.fish
`;

const SHELLS = ["bash", "zsh", "fish"] as const;
type Shell = (typeof SHELLS)[number];

/** What a flag's value completes to: fixed words, or file names. */
type Values = readonly string[] | "file";

export interface CommandSpec {
  name: string;
  summary: string;
  options: ParseArgsOptionsConfig;
  values: Record<string, Values>;
  /** Words after the command (a subcommand, a shell): `baseline export`, `completion bash`. */
  words?: readonly string[];
}

const FILE_FLAGS = ["kubeconfig", "baseline", "from-file"];

/** Every command's flags, loaded from the command modules (only when completion runs). */
export async function commandSpecs(names: readonly string[], help: string): Promise<CommandSpec[]> {
  const scan = await import("./scan.js");
  const netviews = await import("./netviews.js");
  const snapshot = await import("./snapshot.js");
  const baseline = await import("./baseline.js");
  const watch = await import("./watch.js");
  const agent = await import("./agent.js");
  const operator = await import("./operator.js");
  const exp = await import("./export.js");
  const report = await import("./report.js");
  const ack = await import("./ack.js");
  const table: Record<
    string,
    { options: ParseArgsOptionsConfig; output?: Values; words?: readonly string[] }
  > = {
    scan: { options: scan.SCAN_OPTIONS, output: ["table", "wide", "json", "yaml", "ndjson"] },
    interfaces: { options: netviews.NETVIEW_OPTIONS, output: ["table", "wide", "json", "yaml", "ndjson"] },
    routes: { options: netviews.NETVIEW_OPTIONS, output: ["table", "wide", "json", "yaml", "ndjson"] },
    stats: { options: netviews.NETVIEW_OPTIONS, output: ["table", "wide", "json", "yaml", "ndjson"] },
    snapshot: { options: snapshot.SNAPSHOT_OPTIONS, output: "file" },
    diff: { options: snapshot.DIFF_OPTIONS, output: ["table", "json", "yaml"] },
    validate: { options: {} },
    check: { options: baseline.CHECK_OPTIONS, output: ["table", "json", "yaml", "ndjson"] },
    learn: { options: baseline.LEARN_OPTIONS, output: "file" },
    watch: { options: watch.WATCH_OPTIONS, output: ["table", "ndjson"] },
    agent: { options: agent.AGENT_OPTIONS },
    operator: { options: operator.OPERATOR_OPTIONS },
    baseline: { options: exp.EXPORT_OPTIONS, output: "file", words: ["export"] },
    report: { options: report.REPORT_OPTIONS, output: ["text", "md", "json"] },
    ack: { options: ack.ACK_OPTIONS },
    completion: { options: {}, words: SHELLS },
  };
  const summaries = commandSummaries(help);
  return names.map((name) => {
    const known = table[name];
    const options = known?.options ?? {};
    const values: Record<string, Values> = {};
    for (const flag of Object.keys(options)) {
      if (FILE_FLAGS.includes(flag)) values[flag] = "file";
      if (flag === "proto") values[flag] = ["tcp", "udp", "raw", "unix"];
      if (flag === "state") values[flag] = ALL_STATE_NAMES;
      if (flag === "as") values[flag] = ["baseline", "networkpolicy"];
      if (flag === "output" && known?.output) values[flag] = known.output;
    }
    return {
      name,
      summary: summaries.get(name) ?? "",
      options,
      values,
      ...(known?.words ? { words: known.words } : {}),
    };
  });
}

/** "  scan         list sockets…" lines of the top-level help: name → summary. */
function commandSummaries(help: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of help.matchAll(/^ {2}([a-z]+)(?: [^\s]+)*\s{2,}(\S.*)$/gm))
    if (!out.has(m[1] as string)) out.set(m[1] as string, (m[2] as string).trim());
  return out;
}

/** Every spelling of a flag a user may type: --name, -s, and --no-name for booleans. */
function spellings(name: string, spec: ParseArgsOptionsConfig[string]): string[] {
  const out = [`--${name}`];
  if (spec?.short) out.push(`-${spec.short}`);
  if (spec?.type === "boolean") out.push(`--no-${name}`);
  return out;
}

// Every word below is ours (command and flag names, format names), never input: still,
// only plain words may reach a script, so a future flag with a quote cannot break it.
function word(w: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(w)) throw new Error(`completion: ${JSON.stringify(w)} is not a plain word`);
  return w;
}

function quoteSingle(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** fish's single quotes escape only \\ and \' (not the POSIX '\'' dance). */
function fishQuote(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

export function bashScript(specs: readonly CommandSpec[]): string {
  const cases = specs.map((c) => {
    const flags = Object.entries(c.options).flatMap(([n, s]) => spellings(n, s).map(word));
    const valueCases = Object.entries(c.values).map(([flag, v]) => {
      const short = c.options[flag]?.short;
      const pattern = [`--${word(flag)}`, ...(short ? [`-${word(short)}`] : [])].join("|");
      const reply = v === "file" ? `compgen -f -- "$cur"` : `compgen -W "${v.map(word).join(" ")}" -- "$cur"`;
      return `        ${pattern}) COMPREPLY=( $(${reply}) ); return ;;`;
    });
    const words = c.words
      ? `      if [[ $COMP_CWORD -eq 2 ]]; then COMPREPLY=( $(compgen -W "${c.words.map(word).join(" ")}" -- "$cur") ); return; fi\n`
      : "";
    return [
      `    ${word(c.name)})`,
      words + (valueCases.length ? `      case "$prev" in\n${valueCases.join("\n")}\n      esac` : "      :"),
      `      COMPREPLY=( $(compgen -W "${flags.join(" ")}" -- "$cur") ) ;;`,
    ].join("\n");
  });
  return `# bash completion for socklens (socklens completion bash)
_socklens() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=( $(compgen -W "${specs.map((c) => word(c.name)).join(" ")} help" -- "$cur") )
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join("\n")}
  esac
}
complete -o default -F _socklens socklens
`;
}

export function zshScript(specs: readonly CommandSpec[]): string {
  const commands = specs.map(
    (c) => `    ${quoteSingle(`${word(c.name)}:${c.summary.replaceAll(":", "\\:")}`)}`,
  );
  const cases = specs.map((c) => {
    const args = Object.entries(c.options).flatMap(([n, s]) => {
      const v = c.values[n];
      const action =
        s?.type === "boolean"
          ? ""
          : v === "file"
            ? ":file:_files"
            : v
              ? `:${n}:(${v.map(word).join(" ")})`
              : `:${n}: `;
      return spellings(n, s).map((sp) => quoteSingle(`${word(sp)}${sp.startsWith("--no-") ? "" : action}`));
    });
    if (c.words) args.push(quoteSingle(`1:${c.name}:(${c.words.map(word).join(" ")})`));
    args.push(quoteSingle("*:file:_files"));
    return `    ${word(c.name)}) _arguments -s \\\n      ${args.join(" \\\n      ")} ;;`;
  });
  return `#compdef socklens
# zsh completion for socklens (socklens completion zsh)
_socklens() {
  local -a commands
  commands=(
${commands.join("\n")}
  )
  if (( CURRENT == 2 )); then
    _describe 'socklens command' commands
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases.join("\n")}
  esac
}
if [[ "$funcstack[1]" = "_socklens" ]]; then _socklens "$@"; else compdef _socklens socklens; fi
`;
}

export function fishScript(specs: readonly CommandSpec[]): string {
  const lines = [
    "# fish completion for socklens (socklens completion fish)",
    "complete -c socklens -f",
    ...specs.map(
      (c) => `complete -c socklens -n __fish_use_subcommand -a ${word(c.name)} -d ${fishQuote(c.summary)}`,
    ),
  ];
  for (const c of specs) {
    const when = `-n '__fish_seen_subcommand_from ${word(c.name)}'`;
    if (c.words) lines.push(`complete -c socklens ${when} -a '${c.words.map(word).join(" ")}'`);
    for (const [n, s] of Object.entries(c.options)) {
      const v = c.values[n];
      const short = s?.short ? ` -s ${word(s.short)}` : "";
      const value =
        s?.type === "boolean"
          ? ""
          : v === "file"
            ? " -r -F"
            : v
              ? ` -x -a '${v.map(word).join(" ")}'`
              : " -x";
      lines.push(`complete -c socklens ${when} -l ${word(n)}${short}${value}`);
      if (s?.type === "boolean") lines.push(`complete -c socklens ${when} -l no-${word(n)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export async function completionCommand(
  args: string[],
  io: CliIO,
  commands: readonly string[],
  help: string,
): Promise<number> {
  const [shell, ...rest] = args;
  if (!SHELLS.includes(shell as Shell) || rest.length > 0)
    throw new UsageError(
      `completion needs one shell: ${SHELLS.join(", ")}${shell === undefined ? "" : ` (got ${JSON.stringify(args.join(" "))})`}\n\n${COMPLETION_HELP}`,
    );
  const specs = await commandSpecs([...commands, ...(commands.includes("version") ? [] : ["version"])], help);
  const script =
    shell === "bash" ? bashScript(specs) : shell === "zsh" ? zshScript(specs) : fishScript(specs);
  io.out(script);
  return EXIT_OK;
}
