/**
 * Where the host's files are. The DaemonSet mounts the host's /proc at /host/proc and
 * sets HOST_PROC; tests point these at fixture trees. Resolved once, by the entry point,
 * from the environment it was given: nothing below reads process.env on its own.
 */
export interface ProcPaths {
  /** The proc root (HOST_PROC, default /proc). */
  proc: string;
  /** Where `ip netns` keeps named namespaces (HOST_RUN_NETNS, default /run/netns). */
  runNetns: string;
  /** The passwd file used for user names (HOST_PASSWD, default /etc/passwd). */
  passwd: string;
}

export function procPathsFromEnv(env: NodeJS.ProcessEnv): ProcPaths {
  return {
    proc: env.HOST_PROC || "/proc",
    runNetns: env.HOST_RUN_NETNS || "/run/netns",
    passwd: env.HOST_PASSWD || "/etc/passwd",
  };
}
