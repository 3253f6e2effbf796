// kube-controller-manager with only the controllers a test asks for, against a private
// control plane (ControlPlane.start()). The harness has none by default: nothing
// garbage-collects and no ClusterRole is aggregated. Never start it on the shared control
// plane: its garbage collector would delete other suites' objects whose owners never existed.
import { join } from "node:path";
import type { ControlPlane } from "./controlplane.js";
import { ManagedProcess } from "./process.js";
import { requireTool } from "./tools.js";

export function startControllerManager(cp: ControlPlane, controllers: string[]): ManagedProcess {
  return new ManagedProcess(
    "kube-controller-manager",
    requireTool("kube-controller-manager"),
    [
      `--kubeconfig=${cp.kubeconfigPath}`,
      `--controllers=${controllers.join(",")}`,
      "--leader-elect=false",
      // Nothing scrapes or probes it here: no serving port, no certificates.
      "--secure-port=0",
      "--use-service-account-credentials=false",
      "--v=1",
    ],
    join(cp.dir, "kube-controller-manager.log"),
  );
}
