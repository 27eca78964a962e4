package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
)

// countingWindow is a fixed window that counts what cc.LossCounter hears.
type countingWindow struct {
	fixedWindow
	lost, episodes int
}

func (c *countingWindow) OnLoss(time.Time, time.Duration) { c.episodes++ }
func (c *countingWindow) OnPacketsLost(n int)             { c.lost += n }

// cc.LossCounter: a controller that implements it hears of every packet
// declared lost, once each, which LEDBAT++ needs to tell random loss from
// a policer whatever the connection's OnLoss granularity.
func TestScriptLossCounterHearsEveryLostPacket(t *testing.T) {
	ctrl := &countingWindow{fixedWindow: fixedWindow{wnd: 1 << 20}}
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(func(c *Config) {
		c.PacketSize = 10
		c.NewController = func(time.Time, int) cc.Controller { return ctrl }
	}))
	tc.sendPackets(5, 10)
	for range 3 {
		tc.peerAck(tc.s(0) - 1)
	}
	tc.takeAll()
	for range 3 {
		tc.peerAck(tc.s(0) - 1)
	}
	if ctrl.lost != 1 || ctrl.episodes == 0 {
		t.Fatalf("one packet lost: OnPacketsLost counted %d, OnLoss called %d times; want 1 and at least 1", ctrl.lost, ctrl.episodes)
	}
}
