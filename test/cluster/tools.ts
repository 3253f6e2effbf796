// Where test/cluster/build-tools.sh put the binaries. Both sides read the pins from
// tools.env, so a version bump there moves both at once.
import { accessSync, constants, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export type ToolName =
  | "kube-apiserver"
  | "etcd"
  | "helm"
  | "otelcol"
  | "kube-controller-manager"
  | "helm-docs"
  | "prometheus";

const here = dirname(fileURLToPath(import.meta.url));
export const buildScript = join(here, "build-tools.sh");

export function toolsCacheDir(): string {
  return process.env.SOCKLENS_TOOLS_CACHE ?? join(homedir(), ".cache", "socklens-test-tools");
}

export function pinnedVersions(): Record<ToolName, string> {
  const env = new Map<string, string>();
  for (const line of readFileSync(join(here, "tools.env"), "utf8").split("\n")) {
    const m = /^([A-Z_]+)=(\S+)$/.exec(line.trim());
    if (m) env.set(m[1]!, m[2]!);
  }
  const get = (key: string): string => {
    const v = env.get(key);
    if (!v) throw new Error(`test/cluster/tools.env has no ${key}=...`);
    return v;
  };
  return {
    "kube-apiserver": get("KUBE_VERSION"),
    etcd: get("ETCD_VERSION"),
    helm: get("HELM_VERSION"),
    otelcol: get("OTELCOL_VERSION"),
    "kube-controller-manager": get("KUBE_VERSION"),
    "helm-docs": get("HELM_DOCS_VERSION"),
    prometheus: get("PROMETHEUS_VERSION"),
  };
}

export function toolPath(name: ToolName): string {
  return join(toolsCacheDir(), `${name}-${pinnedVersions()[name]}`, name);
}

/**
 * Path of a built tool, or an error that says what to run. Tests call this instead of
 * skipping: a missing binary means the build failed, and that must fail the run.
 */
export function requireTool(name: ToolName): string {
  const path = toolPath(name);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `${name} ${pinnedVersions()[name]} is not built: ${path} is missing or not executable. ` +
        `Run ${buildScript} (scripts/test.sh does) and look at its output for the build error.`,
    );
  }
  return path;
}
