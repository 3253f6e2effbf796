/**
 * Finding patterns: what a human acknowledges. A finding's key (`findingKey`) names one scope,
 * one pid, one baseline — it changes with every pod and restart, so acknowledging it would
 * achieve nothing. A *pattern* is what stays: the rule, the peer (or the listener), and the
 * process. It is exactly what a `spec.exceptions` entry can say (rule, address, port,
 * process), so acknowledging a pattern writes one exception and that exception matches every
 * finding with the same pattern, on every pod the baseline selects (docs/ack.md, ADR 0021).
 *
 * The printed form, the "finding key" of `socklens ack KEY`, is four parts joined by "/":
 * `Beaconing/198.51.100.7/443/*`, `NetworkDiscoveryTool/*\/*\/ss`; `*` is a part the pattern
 * leaves open. Parts are percent-encoded except for letters, digits and `._:@+,=-` (a process
 * name is chosen by whoever runs it, and the key is pasted into a shell). Pure.
 */

import type { BaselineException, ExceptionRuleId } from "../../api/v1alpha1/networkbaseline.js";
import { ExceptionRuleId as ExceptionRuleIdSchema } from "../../api/v1alpha1/networkbaseline.js";
import type { Cidr } from "../../net/cidr.js";
import { cidrContains } from "../../net/cidr.js";
import type { Finding, SuppressedFinding } from "./types.js";

export interface Pattern {
  rule: string;
  address?: string;
  port?: number;
  process?: string;
}

/**
 * The pattern of a finding. The address and port are the peer's (egress: where we connected;
 * ingress: who connected and our port), else a listener's own; a threshold's example socket
 * is one of many and its port often ephemeral, so it gives none. The process is the socket's
 * holder, else the one a detector names.
 */
export function patternOf(f: Finding): Pattern {
  const s = f.socket;
  const listener = !f.peer && s !== undefined && (s.state === "LISTEN" || s.state === "UNCONN");
  const address = f.peer?.address ?? (listener ? s?.localAddress : undefined);
  const port = f.peer?.port ?? (listener ? s?.localPort : undefined);
  // A beacon's connections are short: its process is known only when a scan happens to catch
  // one open (a TIME_WAIT socket has no holder), so one run names it and the next does not.
  // The peer is the beacon; a pattern that sometimes has a process would not match itself.
  const process = f.rule === "Beaconing" ? undefined : (s?.process ?? f.holder?.process);
  return {
    rule: f.rule,
    ...(address !== undefined && address !== "" ? { address } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(process !== undefined && process !== "" ? { process } : {}),
  };
}

const OPEN = "*";

// Kept as is: what addresses, ports, rule and most process names are made of. Everything else
// is percent-encoded, so a key is one shell word that is safe to paste unquoted (no space,
// quote, `;`, `|`, `$`, backtick, `*`), and one Markdown or terminal token.
const SAFE = /^[A-Za-z0-9._:@+,=-]$/;

function encodePart(text: string): string {
  let out = "";
  for (const ch of text) {
    if (SAFE.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, "utf8")) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The printed key of a pattern: `rule/address/port/process`, `*` where open. */
export function patternKey(p: Pattern): string {
  return [
    encodePart(p.rule),
    p.address === undefined ? OPEN : encodePart(p.address),
    p.port === undefined ? OPEN : String(p.port),
    p.process === undefined ? OPEN : encodePart(p.process),
  ].join("/");
}

export function findingPatternKey(f: Finding): string {
  return patternKey(patternOf(f));
}

/** Parse a printed key. Throws an Error whose message says what is wrong and what was expected. */
export function parsePatternKey(key: string): Pattern & { rule: ExceptionRuleId } {
  const parts = key.split("/");
  const example =
    "expected RULE/ADDRESS/PORT/PROCESS with * for an open part, e.g. Beaconing/198.51.100.7/443/updater";
  if (parts.length !== 4) throw new Error(`${JSON.stringify(key)} has ${parts.length} part(s); ${example}`);
  const [rule, address, port, process] = parts.map((p, i) => {
    if (p === OPEN) return undefined;
    try {
      return decodeURIComponent(p);
    } catch {
      throw new Error(`part ${i + 1} of ${JSON.stringify(key)} is not valid percent-encoding; ${example}`);
    }
  }) as (string | undefined)[];
  const ruleOk = ExceptionRuleIdSchema.safeParse(rule);
  if (!ruleOk.success)
    throw new Error(
      `${JSON.stringify(rule ?? OPEN)} is not a rule an exception can name; one of ${ExceptionRuleIdSchema.options.join(", ")}`,
    );
  let portNumber: number | undefined;
  if (port !== undefined) {
    portNumber = /^[0-9]{1,5}$/.test(port) ? Number(port) : Number.NaN;
    if (!(portNumber >= 0 && portNumber <= 65535))
      throw new Error(`port ${JSON.stringify(port)} in ${JSON.stringify(key)} is not 0–65535; ${example}`);
  }
  return {
    rule: ruleOk.data,
    ...(address !== undefined ? { address } : {}),
    ...(portNumber !== undefined ? { port: portNumber } : {}),
    ...(process !== undefined ? { process } : {}),
  };
}

/** The pattern an exception covers (its printed key is what status and reports show). */
export function patternOfException(e: BaselineException): Pattern {
  return {
    rule: e.rule,
    ...(e.address !== undefined ? { address: e.address } : {}),
    ...(e.port !== undefined ? { port: e.port } : {}),
    ...(e.process !== undefined ? { process: e.process } : {}),
  };
}

export type CompiledException = BaselineException & { cidr?: Cidr };

export function isExpired(e: Pick<BaselineException, "expires">, now: Date): boolean {
  return e.expires !== undefined && Date.parse(e.expires) <= now.getTime();
}

/** Does the exception cover the finding (expiry aside)? An open field covers anything. */
export function exceptionCovers(e: CompiledException, f: Finding): boolean {
  const p = patternOf(f);
  // Exceptions written before patterns existed name a threshold's example socket too.
  const address = p.address ?? f.socket?.localAddress;
  const port = p.port ?? f.socket?.localPort;
  return exceptionCoversPattern(e, {
    rule: p.rule,
    ...(address !== undefined ? { address } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(p.process !== undefined ? { process: p.process } : {}),
  });
}

/** The same judgement on a pattern (a finding record's key, in reports). */
export function exceptionCoversPattern(e: CompiledException, p: Pattern): boolean {
  if (e.rule !== p.rule) return false;
  if (e.address !== undefined) {
    if (p.address === undefined) return false;
    if (e.cidr ? !cidrContains(e.cidr, p.address) : e.address !== p.address) return false;
  }
  if (e.port !== undefined && e.port !== p.port) return false;
  if (e.process !== undefined && e.process !== p.process) return false;
  return true;
}

/** The first benign, unexpired exception covering the finding. */
export function suppressingException(
  exceptions: readonly CompiledException[],
  f: Finding,
  now: Date,
): CompiledException | undefined {
  return exceptions.find(
    (e) => (e.verdict ?? "Benign") === "Benign" && !isExpired(e, now) && exceptionCovers(e, f),
  );
}

/** Split findings into those that fire and those a benign exception moves aside. */
export function applyExceptions(
  exceptions: readonly CompiledException[],
  findings: readonly Finding[],
  now: Date,
): { findings: Finding[]; suppressed: SuppressedFinding[] } {
  const result: { findings: Finding[]; suppressed: SuppressedFinding[] } = { findings: [], suppressed: [] };
  for (const f of findings) {
    const e = suppressingException(exceptions, f, now);
    if (!e) result.findings.push(f);
    else
      result.suppressed.push(
        e.expires ? { finding: f, reason: e.reason, expires: e.expires } : { finding: f, reason: e.reason },
      );
  }
  return result;
}

export function isExceptionRule(rule: string): rule is ExceptionRuleId {
  return ExceptionRuleIdSchema.safeParse(rule).success;
}
