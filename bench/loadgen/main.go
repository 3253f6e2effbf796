// loadgen holds a namespace's worth of sockets for the socklens benchmark: a listener,
// N established connections (both ends in this process), some CLOSE_WAIT and TIME_WAIT
// pairs and two UDP sockets. Run one per network namespace with `ip netns exec`. It prints
// "ready" once everything is in place and then waits for SIGTERM.
//
// Go rather than Node because a benchmark of 200 namespaces needs 200 of these, and a Go
// process costs a few MB where a Node process costs ~40.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	conns := flag.Int("c", 100, "established connections")
	closeWait := flag.Int("close-wait", 10, "connections left in CLOSE_WAIT on the server side")
	timeWait := flag.Int("time-wait", 10, "connections left in TIME_WAIT on the client side")
	serve := flag.Bool("serve", true, "run the listeners (false: only connect, to a server started separately)")
	churn := flag.Duration("churn", 0, "open and close one connection to the echo listener this often (0: never), so the namespace's counters move between scans")
	flag.Parse()

	var keep []any     // owned by main
	var accepted []any // owned by the accept goroutine; both only exist to keep sockets open
	if *serve {
		serveListeners(&accepted)
	}

	for i := 0; i < *conns; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:7000")
		must(err)
		keep = append(keep, c)
	}
	for i := 0; i < *closeWait; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:7000")
		must(err)
		_ = c.Close()
	}
	for i := 0; i < *timeWait; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:7001")
		must(err)
		_ = c.Close()
	}
	if *serve {
		u1, err := net.ListenPacket("udp", "0.0.0.0:5353")
		must(err)
		u2, err := net.Dial("udp", "127.0.0.1:5353")
		must(err)
		keep = append(keep, u1, u2)
	}

	if *churn > 0 {
		go func() {
			for range time.Tick(*churn) {
				if c, err := net.Dial("tcp", "127.0.0.1:7001"); err == nil {
					_ = c.Close()
				}
			}
		}()
	}

	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	_ = len(keep)
}

func serveListeners(accepted *[]any) {
	// Port 7000: the server never closes what it accepts, so a client close leaves CLOSE_WAIT.
	hold, err := net.Listen("tcp", "127.0.0.1:7000")
	must(err)
	go func() {
		for {
			c, err := hold.Accept()
			if err != nil {
				return
			}
			*accepted = append(*accepted, c)
		}
	}()
	// Port 7001: the server closes on EOF, so the client that closed first sits in TIME_WAIT.
	echo, err := net.Listen("tcp", "127.0.0.1:7001")
	must(err)
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); _ = c.Close() }()
		}
	}()
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}
