package main

import (
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// interrupts turns SIGINT and SIGTERM into a clean stop: abort runs once
// (it closes the endpoint, which resets the connection, so the peer knows
// at once and the blocked transfer returns), and the command then exits
// 130 or 143 with what it has to say. A second signal, or a command that
// has not returned within interruptGrace, exits at once.
type interrupts struct {
	ch    chan os.Signal
	code  atomic.Int32
	quit  chan struct{}
	fired chan struct{} // closed once a signal came, after abort
}

// interruptGrace bounds how long an interrupted command may take to
// finish on its own.
const interruptGrace = 3 * time.Second

func catchInterrupts(abort func()) *interrupts {
	in := &interrupts{ch: make(chan os.Signal, 2), quit: make(chan struct{}), fired: make(chan struct{})}
	signal.Notify(in.ch, os.Interrupt, syscall.SIGTERM)
	go in.run(abort)
	return in
}

func (in *interrupts) run(abort func()) {
	var sig os.Signal
	select {
	case sig = <-in.ch:
	case <-in.quit:
		return
	}
	code := exitInterrupt
	if sig == syscall.SIGTERM {
		code = exitTerminated
	}
	in.code.Store(int32(code))
	abort()
	close(in.fired)
	select {
	case <-in.ch:
	case <-time.After(interruptGrace):
	case <-in.quit:
		return
	}
	os.Exit(code)
}

// interrupted returns the exit status a signal asked for, or 0.
func (in *interrupts) interrupted() int { return int(in.code.Load()) }

// stop stops catching signals.
func (in *interrupts) stop() {
	signal.Stop(in.ch)
	close(in.quit)
}
