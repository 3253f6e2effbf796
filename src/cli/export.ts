/** `socklens baseline export NS/NAME`: what Learn mode learned, as a baseline to review and commit. */
import { parseArgs } from "node:util";
import { Document } from "yaml";
import { GROUP, VERSION } from "../api/v1alpha1/common.js";
import { type NetworkBaselineInput, PLURAL } from "../api/v1alpha1/networkbaseline.js";
import { baselineFromLearned, type LearnedState } from "../core/baseline/export.js";
import { kubeConfigFrom } from "./cluster-flags.js";
import { EXIT_OK, InputError, UsageError } from "./errors.js";
import { type CliIO, writeYamlDocument } from "./io.js";

export const EXPORT_HELP = `Usage: socklens baseline export NAMESPACE/NAME [--kubeconfig FILE | --cluster] [-o FILE]

Reads the NetworkBaseline's status.learned (what agents recorded in Learn mode) and
writes a baseline in mode Alert that allows exactly that, with the same name, namespace,
podSelector, thresholds and exceptions. Review it, commit it, apply it.
`;

export async function baselineCommand(args: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "export")
    throw new UsageError(`baseline: unknown subcommand ${JSON.stringify(sub ?? "")}\n\n${EXPORT_HELP}`);
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      kubeconfig: { type: "string" },
      context: { type: "string" },
      cluster: { type: "boolean" },
      output: { type: "string", short: "o", default: "-" },
    },
    allowPositionals: true,
    strict: true,
  });
  const m = /^([a-z0-9-.]+)\/([a-z0-9-.]+)$/.exec(positionals[0] ?? "");
  if (positionals.length !== 1 || !m)
    throw new UsageError(
      `baseline export needs NAMESPACE/NAME, got ${JSON.stringify(positionals.join(" "))}`,
    );
  const [, namespace, name] = m as unknown as [string, string, string];
  const { CustomObjectsApi } = await import("@kubernetes/client-node");
  const kc = await kubeConfigFrom(values);
  let obj: {
    metadata: { name?: string; namespace?: string };
    spec: NetworkBaselineInput["spec"];
    status?: { learned?: LearnedState };
  };
  try {
    obj = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      name,
    })) as typeof obj;
  } catch (err) {
    const code = (err as { code?: number }).code;
    throw new InputError(
      code === 404
        ? `no NetworkBaseline ${namespace}/${name}`
        : `cannot read NetworkBaseline ${namespace}/${name}: ${(err as Error).message.split("\n")[0]}`,
      { cause: err },
    );
  }
  const learned = obj.status?.learned;
  if (!learned)
    throw new InputError(
      `NetworkBaseline ${namespace}/${name} has learned nothing yet (status.learned is empty; is it in mode Learn, and is the operator running?)`,
    );
  const doc = new Document(baselineFromLearned(obj, learned));
  const header = [
    ` Exported by socklens baseline export from ${namespace}/${name} (status.learned) at ${new Date().toISOString()}`,
    ` ${learned.listeners?.length ?? 0} listener(s), ${learned.egress?.length ?? 0} egress and ${learned.ingress?.length ?? 0} ingress peer(s).`,
    " It allows exactly what was learned, in mode Alert: review, then commit and apply.",
  ];
  if (writeYamlDocument(doc, header, values.output, io)) io.err(`socklens: wrote ${values.output}\n`);
  return EXIT_OK;
}
