// The real helm binary against the run's API server: lint, install, see the objects,
// uninstall, see them gone.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKubeConfig, clusterContext, createNamespace } from "./env.js";
import { apiError } from "./kube.js";
import { pinnedVersions, requireTool } from "./tools.js";

const run = promisify(execFile);
const chart = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "chart");

let helmHome: string;
let kc: KubeConfig;
let ns: string;

/** Runs helm with its own config/cache/data dirs (nothing from or into the user's ~/.config/helm). */
async function helm(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const bin = requireTool("helm");
  try {
    return await run(bin, [...args, "--kubeconfig", clusterContext().kubeconfig], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: helmHome,
        HELM_CACHE_HOME: join(helmHome, "cache"),
        HELM_CONFIG_HOME: join(helmHome, "config"),
        HELM_DATA_HOME: join(helmHome, "data"),
      },
      timeout: 60_000,
    });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`helm ${args.join(" ")} failed: ${e.stderr || e.message}\n${e.stdout ?? ""}`, {
      cause: err,
    });
  }
}

async function exists(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (err) {
    if (apiError(err).code === 404) return false;
    throw err;
  }
}

beforeAll(async () => {
  helmHome = await mkdtemp(join(tmpdir(), "socklens-helm-"));
  kc = adminKubeConfig();
  ns = await createNamespace(kc, "helm");
});

afterAll(async () => {
  if (helmHome) await rm(helmHome, { recursive: true, force: true });
});

describe("helm", () => {
  it("is the pinned version", async () => {
    const { stdout } = await helm("version", "--short");
    expect(stdout.trim()).toBe(pinnedVersions().helm);
  });

  it("lints the test chart", async () => {
    const { stdout } = await helm("lint", chart, "--strict");
    expect(stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
  });

  it("fails lint when a value breaks the chart's values.schema.json", async () => {
    await expect(helm("lint", chart, "--strict", "--set", "port=not-a-number")).rejects.toThrow(
      /at '\/port': got string, want integer/,
    );
  });

  it("installs the chart, the objects exist, and uninstall removes them", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const release = "smoke";
    const install = await helm(
      "install",
      release,
      chart,
      "--namespace",
      ns,
      "--set",
      "greeting=hi from helm",
    );
    expect(install.stdout).toContain("STATUS: deployed");

    const cm = await core.readNamespacedConfigMap({ name: `${release}-config`, namespace: ns });
    expect(cm.data?.greeting).toBe("hi from helm");
    expect(cm.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("Helm");
    expect(cm.metadata?.annotations?.["meta.helm.sh/release-name"]).toBe(release);
    if (!clusterContext().existing) {
      // helm rendered .Capabilities from the server's /version.
      expect(cm.data?.kubeVersion).toBe(pinnedVersions()["kube-apiserver"]);
    }
    await core.readNamespacedServiceAccount({ name: `${release}-sa`, namespace: ns });
    const svc = await core.readNamespacedService({ name: `${release}-svc`, namespace: ns });
    expect(svc.spec?.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/); // allocated by the server
    expect(svc.spec?.ports?.[0]?.port).toBe(8080);

    const list = JSON.parse((await helm("list", "--namespace", ns, "--output", "json")).stdout) as {
      name: string;
      status: string;
    }[];
    expect(list).toEqual([expect.objectContaining({ name: release, status: "deployed" })]);
    // The release record helm keeps in the cluster.
    const secrets = await core.listNamespacedSecret({ namespace: ns, labelSelector: "owner=helm" });
    expect(secrets.items.map((s) => s.metadata?.name)).toEqual([`sh.helm.release.v1.${release}.v1`]);

    await helm("uninstall", release, "--namespace", ns, "--wait", "--timeout", "60s");
    expect(
      await exists(() => core.readNamespacedConfigMap({ name: `${release}-config`, namespace: ns })),
    ).toBe(false);
    expect(
      await exists(() => core.readNamespacedServiceAccount({ name: `${release}-sa`, namespace: ns })),
    ).toBe(false);
    expect(await exists(() => core.readNamespacedService({ name: `${release}-svc`, namespace: ns }))).toBe(
      false,
    );
    const after = JSON.parse((await helm("list", "--namespace", ns, "--output", "json")).stdout) as unknown[];
    expect(after).toEqual([]);
  });
});
