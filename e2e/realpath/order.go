//go:build linux

package realpath

import (
	"fmt"
	"time"
)

// ReorderStats say how out of order one direction of a flow's packets
// passed a point of the path, judged by the sender's clock (the uTP
// timestamp every packet carries; tap.go): a packet is late when one
// sent after it passed first.
type ReorderStats struct {
	Packets int64 // uTP packets seen
	Late    int64 // ... that came after a packet sent later
	// Episodes counts runs of late packets: one held burst that later
	// packets overtook is one episode.
	Episodes int64
	// WorstBehind is the most a late packet was sent before the newest
	// packet already past: how long a held packet lagged.
	WorstBehind time.Duration
	// WorstOvertaken is the most packets that passed ahead of a late
	// packet after it was sent (counted among the last orderMemory).
	WorstOvertaken int
}

// orderMemory bounds how many recent timestamps a flow keeps to count
// how many packets overtook a late one: a burst held 40 ms at 1 Gbit/s
// is overtaken by about 3,400 packets of 1,500 bytes.
const orderMemory = 4096

// orderState follows one direction of one flow at one point.
type orderState struct {
	s      ReorderStats
	newest uint32 // the latest send time seen, in the sender's microseconds
	seen   bool
	late   bool // the previous packet was late
	recent [orderMemory]uint32
	n      int // packets recorded in recent, total
}

// after reports whether uTP timestamp a is later than b; the 32-bit
// microsecond clock wraps every 71 minutes.
func after(a, b uint32) bool { return int32(a-b) > 0 }

// add records a packet sent at ts (microseconds, the sender's clock).
func (o *orderState) add(ts uint32) {
	o.s.Packets++
	late := o.seen && after(o.newest, ts)
	if late {
		o.s.Late++
		if !o.late {
			o.s.Episodes++
		}
		o.s.WorstBehind = max(o.s.WorstBehind, time.Duration(o.newest-ts)*time.Microsecond)
		o.s.WorstOvertaken = max(o.s.WorstOvertaken, o.overtaken(ts))
	} else {
		o.newest, o.seen = ts, true
	}
	o.late = late
	o.recent[o.n%orderMemory] = ts
	o.n++
}

// overtaken counts the remembered packets sent after ts.
func (o *orderState) overtaken(ts uint32) int {
	k := 0
	for _, r := range o.recent[:min(o.n, orderMemory)] {
		if after(r, ts) {
			k++
		}
	}
	return k
}

// take returns the counts since the last take and starts them afresh;
// the flow's order (newest, recent) carries on.
func (o *orderState) take() ReorderStats {
	s := o.s
	o.s = ReorderStats{}
	return s
}

// merge adds the counts of another flow.
func (s ReorderStats) merge(t ReorderStats) ReorderStats {
	return ReorderStats{Packets: s.Packets + t.Packets, Late: s.Late + t.Late, Episodes: s.Episodes + t.Episodes,
		WorstBehind: max(s.WorstBehind, t.WorstBehind), WorstOvertaken: max(s.WorstOvertaken, t.WorstOvertaken)}
}

// String summarises the stats as the logs print them.
func (s ReorderStats) String() string {
	if s.Late == 0 {
		return fmt.Sprintf("%d packets in order", s.Packets)
	}
	return fmt.Sprintf("%d of %d packets late in %d episodes, at worst %v behind and overtaken by %d",
		s.Late, s.Packets, s.Episodes, s.WorstBehind, s.WorstOvertaken)
}

// TapStats is what one tap saw during a run: each direction's data and
// ACKs (uTP's DATA and STATE packets), and the packets the tap's own
// ring lost (not the path's).
type TapStats struct {
	Point                            string
	DataOut, DataIn, AcksOut, AcksIn ReorderStats
	Dropped                          int64
}

// String gives the directions that carried packets.
func (s TapStats) String() string {
	out := s.Point + ":"
	for _, d := range []struct {
		name string
		r    ReorderStats
	}{{"data out", s.DataOut}, {"data in", s.DataIn}, {"ACKs out", s.AcksOut}, {"ACKs in", s.AcksIn}} {
		if d.r.Packets > 0 {
			out += fmt.Sprintf(" %s %v;", d.name, d.r)
		}
	}
	if s.Dropped > 0 {
		out += fmt.Sprintf(" the tap lost %d", s.Dropped)
	}
	return out
}
