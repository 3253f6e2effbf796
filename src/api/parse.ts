/**
 * One way to turn an object from the API server (or a file) into a typed NetworkBaseline:
 * the zod schema, then the semantic checks the schema cannot express. The agent and the
 * operator both use it, so they accept and reject exactly the same objects, with the same
 * first problem named by its field path.
 */
import { NetworkBaseline } from "./v1alpha1/networkbaseline.js";
import { formatPath, semanticProblems } from "./validate.js";

export type ParsedBaseline =
  | { ok: true; baseline: NetworkBaseline }
  | {
      ok: false /** "spec.egress[0].to[0].ipBlock.cidr: …" — a sentence a human can act on. */;
      problem: string;
    };

export function parseBaseline(raw: unknown): ParsedBaseline {
  const parsed = NetworkBaseline.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, problem: `${formatPath(issue?.path ?? [])}: ${issue?.message ?? "invalid"}` };
  }
  const [semantic] = semanticProblems(parsed.data);
  if (semantic) return { ok: false, problem: `${formatPath(semantic.path)}: ${semantic.message}` };
  return { ok: true, baseline: parsed.data };
}
