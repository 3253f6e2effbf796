/**
 * The one flag parser every command uses, so a boolean behaves the same everywhere (issue 14):
 * `--flag`, `--no-flag`, `--flag=true` and `--flag=false` (as Kubernetes' own binaries and
 * kubebuilder operators accept `--leader-elect=false`). node:util parseArgs does the parsing;
 * this only rewrites `--flag=VALUE` for booleans first, which parseArgs refuses.
 */
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { UsageError } from "./errors.js";

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

/** `--flag=true|false` on a boolean becomes `--flag` / `--no-flag`; everything else is left as it is. */
export function normalizeBooleans(args: readonly string[], options: ParseArgsOptionsConfig): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    // After "--" everything is a positional, as parseArgs treats it.
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const m = /^--([^=]+)=(.*)$/s.exec(arg);
    const name = m?.[1];
    if (m && name !== undefined && Object.hasOwn(options, name) && options[name]?.type === "boolean") {
      const value = (m[2] as string).toLowerCase();
      if (TRUE.has(value)) out.push(`--${name}`);
      else if (FALSE.has(value)) out.push(`--no-${name}`);
      else
        throw new UsageError(
          `--${name}: ${JSON.stringify(m[2])} is not true or false (a boolean takes --${name}, --no-${name}, --${name}=true or --${name}=false)`,
        );
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** parseArgs with our rules: strict, booleans negatable and `=true/false`, positionals only when asked. */
export function parseFlags<const O extends ParseArgsOptionsConfig, const P extends boolean = false>(
  args: readonly string[],
  options: O,
  allowPositionals?: P,
) {
  return parseArgs({
    args: normalizeBooleans(args, options),
    options,
    strict: true,
    allowNegative: true,
    allowPositionals: (allowPositionals ?? false) as P,
  });
}

/** The option specs of a command, for `socklens completion` and the help text checks. */
export type OptionSpecs = ParseArgsOptionsConfig;
