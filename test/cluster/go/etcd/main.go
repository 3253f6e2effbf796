// Command etcd is the etcd server, built from go.etcd.io/etcd/server/v3 at the version
// pinned in go.mod. etcd's own main module (go.etcd.io/etcd/v3) is not published as a
// module and its server module has ./ replace lines, so this wrapper calls the server's
// entry point directly, exactly as etcd's main.go does.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
