#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (built by `npm run build`).
// The version check runs before dist/ is loaded (hence the dynamic import), so an old Node
// gets one sentence instead of a crash deep in a dependency. Keep in step with
// package.json `engines` and .node-version (test/unit/runtime-pin.test.ts checks).
const MIN_NODE_MAJOR = 24;
const major = Number(process.versions.node.split(".")[0]);
if (major < MIN_NODE_MAJOR) {
  process.stderr.write(
    `socklens: needs Node.js ${MIN_NODE_MAJOR} or newer; this is Node.js ${process.version} (${process.execPath}).\n` +
      "socklens: in a socklens checkout, ./scripts/setup.sh installs the pinned Node.js and ./scripts/socklens runs under it.\n",
  );
  process.exit(2);
}
// Node's on-disk compile cache (node:module, Node >= 22.1) saves re-compiling the CLI's
// modules on every run; it lives in the OS temp dir and is safe to delete.
const { enableCompileCache } = await import("node:module");
enableCompileCache?.();
const { main } = await import("../dist/cli/main.js");
process.exitCode = await main(process.argv.slice(2));
