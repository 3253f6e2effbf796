import { existsSync } from "node:fs";
import { defineConfig } from "vitest/config";

// Three projects, because they need different things from the machine:
//  - unit:    pure code and fixture trees; runs anywhere.
//  - host:    the machine's real /proc, network namespaces and cgroups (needs root).
//  - cluster: a real kube-apiserver + etcd, helm and an OTel collector started by
//             test/cluster/global-setup.ts (built by test/cluster/build-tools.sh).
const clusterSetup = "test/cluster/global-setup.ts";
//  - image:   the image built by `npm run image` (scripts/image.sh) run under podman + runc
//             with the chart's privileges, real workload containers as pods, against the
//             same kind of API server as "cluster"; skips, saying why, where podman or the
//             image is missing.
//  - e2e:     real containers through testcontainers (podman's Docker API here, Docker
//             elsewhere): the agent image against the harness's API server, and k3s where
//             its image is available; skips, saying why, where no engine runs.

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "host",
          include: ["test/host/**/*.test.ts"],
          // Namespaces, cgroups and `ss` comparisons see the whole machine: run files one at a time.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "cluster",
          include: ["test/cluster/**/*.test.ts"],
          globalSetup: existsSync(clusterSetup) ? [clusterSetup] : [],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: "image",
          include: ["test/image/**/*.test.ts"],
          globalSetup: existsSync(clusterSetup) ? [clusterSetup] : [],
          // Containers and the host's pid namespace are shared: one file at a time.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["e2e/**/*.test.ts"],
          globalSetup: [...(existsSync(clusterSetup) ? [clusterSetup] : []), "e2e/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
