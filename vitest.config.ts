import { existsSync } from "node:fs";
import { defineConfig } from "vitest/config";

// Three projects, because they need different things from the machine:
//  - unit:    pure code and fixture trees; runs anywhere.
//  - host:    the machine's real /proc, network namespaces and cgroups (needs root).
//  - cluster: a real kube-apiserver + etcd, helm and an OTel collector started by
//             test/cluster/global-setup.ts (built by test/cluster/build-tools.sh).
const clusterSetup = "test/cluster/global-setup.ts";
//  - e2e:     the same kind of checks against k3s in a container (testcontainers); skips,
//             saying why, where no container engine runs.

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
          name: "e2e",
          include: ["e2e/**/*.test.ts"],
          globalSetup: ["e2e/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
