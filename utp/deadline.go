package utp

import (
	"sync"
	"time"
)

// deadline is a settable point in time with a channel that is closed when
// it passes. Changing it while someone waits takes effect at once: the
// waiter selects on wait(), which is re-read on every loop. Its channel
// is made when a deadline is first set (most connections never set one);
// until then wait returns nil, which a select never chooses, so set
// signals wake to make a blocked waiter loop and take the new channel.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{} // closed when the deadline passes; nil until set
	wake   chan struct{} // the waiter's signal channel (cap 1)
}

// set arms the deadline at t; the zero time disarms it.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cancel == nil {
		if t.IsZero() {
			return
		}
		d.cancel = make(chan struct{})
		signal(d.wake)
	}
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired: wait for its close, then renew
	}
	d.timer = nil
	closed := isClosed(d.cancel)
	if t.IsZero() {
		if closed {
			d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.cancel = make(chan struct{})
		}
		ch := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(ch) })
		return
	}
	if !closed {
		close(d.cancel)
	}
}

// wait returns a channel that is closed when the deadline has passed.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
