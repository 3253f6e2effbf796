/**
 * Where the host's files are. The DaemonSet mounts the host's /proc at /host/proc and
 * sets HOST_PROC; tests point these at fixture trees.
 */
export interface ProcPaths {
  /** The proc root (HOST_PROC, default /proc). */
  proc: string;
  /** Where `ip netns` keeps named namespaces (HOST_RUN_NETNS, default /run/netns). */
  runNetns: string;
  /** The passwd file used for user names (HOST_PASSWD, default /etc/passwd). */
  passwd: string;
}

export function resolveProcPaths(
  overrides: Partial<ProcPaths> = {},
  env: NodeJS.ProcessEnv = process.env,
): ProcPaths {
  return {
    proc: overrides.proc ?? env.HOST_PROC ?? "/proc",
    runNetns: overrides.runNetns ?? env.HOST_RUN_NETNS ?? "/run/netns",
    passwd: overrides.passwd ?? env.HOST_PASSWD ?? "/etc/passwd",
  };
}
