// A throwaway control plane (etcd + kube-apiserver, built by test/cluster/build-tools.sh)
// for poking at by hand, the same one the cluster tests start.
//
//   npx tsx scripts/cluster.ts up       start it in the background, print KUBECONFIG
//   npx tsx scripts/cluster.ts status   is it still there?
//   npx tsx scripts/cluster.ts down     stop it (by the pids `up` recorded) and delete its files
import { existsSync, readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ControlPlane } from "../test/cluster/controlplane.js";
import { stopPid } from "../test/cluster/process.js";
import { toolsCacheDir } from "../test/cluster/tools.js";

interface State {
  dir: string;
  kubeconfig: string;
  server: string;
  pids: { etcd: number; apiserver: number };
}

const stateFile = join(toolsCacheDir(), "cluster-up.json");

function readState(): State | undefined {
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(readFileSync(stateFile, "utf8")) as State;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function up(): Promise<void> {
  const old = readState();
  if (old && (alive(old.pids.apiserver) || alive(old.pids.etcd))) {
    console.error(`already up: ${old.server} (run "down" first)\nexport KUBECONFIG=${old.kubeconfig}`);
    process.exitCode = 1;
    return;
  }
  const cp = await ControlPlane.start({ detached: true });
  const state: State = {
    dir: cp.dir,
    kubeconfig: cp.kubeconfigPath,
    server: cp.server,
    pids: { etcd: cp.etcdPid!, apiserver: cp.apiServerPid! },
  };
  await writeFile(stateFile, `${JSON.stringify(state, null, 2)}\n`);
  console.log(
    `kube-apiserver ${cp.server} (pid ${state.pids.apiserver}), etcd ${cp.etcdEndpoint} (pid ${state.pids.etcd})`,
  );
  console.log(`logs: ${cp.apiServerLog} ${cp.etcdLog}`);
  console.log(`export KUBECONFIG=${cp.kubeconfigPath}`);
}

async function down(): Promise<void> {
  const st = readState();
  if (!st) {
    console.log("nothing is up");
    return;
  }
  await stopPid(st.pids.apiserver);
  await stopPid(st.pids.etcd);
  await rm(st.dir, { recursive: true, force: true });
  await rm(stateFile, { force: true });
  console.log(`stopped ${st.server} and removed ${st.dir}`);
}

function status(): void {
  const st = readState();
  if (!st) {
    console.log("nothing is up");
    return;
  }
  const show = (pid: number): string => `${pid} ${alive(pid) ? "running" : "gone"}`;
  console.log(`${st.server}: kube-apiserver ${show(st.pids.apiserver)}, etcd ${show(st.pids.etcd)}`);
  console.log(`export KUBECONFIG=${st.kubeconfig}`);
}

const cmd = process.argv[2];
switch (cmd) {
  case "up":
    await up();
    break;
  case "down":
    await down();
    break;
  case "status":
    status();
    break;
  default:
    console.error("usage: npx tsx scripts/cluster.ts up|status|down");
    process.exitCode = 2;
}
