//go:build linux

package realpath

import (
	"math"
	"testing"
	"time"
)

// twoFlows is a trace of two flows: the first receives 1,000 bytes per
// 100 ms sample from 0 s, the second 3,000 from 1 s.
func twoFlows() *Trace {
	tr := &Trace{Flows: make([]FlowTrace, 2)}
	for i := 0; i <= 20; i++ {
		at := time.Duration(i) * SampleInterval
		tr.Flows[0].Points = append(tr.Flows[0].Points, Point{At: at, Bytes: int64(1000 * i)})
		if at >= time.Second {
			tr.Flows[1].Points = append(tr.Flows[1].Points, Point{At: at, Bytes: int64(3000 * (i - 10))})
		}
	}
	return tr
}

// TestRateSharesJain checks the figures the scenarios assert on a trace
// whose answers are known: rates from byte counts, shares, and Jain's
// index of a 1:3 split, (1+3)²/(2·(1+9)) = 0.8.
func TestRateSharesJain(t *testing.T) {
	tr := twoFlows()
	w := Window{time.Second, 2 * time.Second}
	if r := tr.Rate(0, w.From, w.To); r != 80000 {
		t.Errorf("rate of flow 1: %v bit/s, want 80000", r)
	}
	if r := tr.Rate(1, 0, time.Second); r != 0 {
		t.Errorf("rate of flow 2 before it started: %v, want 0", r)
	}
	s := tr.Shares(w.From, w.To)
	if math.Abs(s[0]-0.25) > 1e-9 || math.Abs(s[1]-0.75) > 1e-9 {
		t.Errorf("shares %v, want [0.25 0.75]", s)
	}
	if j := tr.Jain(w.From, w.To); math.Abs(j-0.8) > 1e-9 {
		t.Errorf("Jain index %v, want 0.8", j)
	}
	if j := (&Trace{Flows: make([]FlowTrace, 2)}).Jain(0, time.Second); j != 0 {
		t.Errorf("Jain index of flows that moved nothing: %v, want 0", j)
	}
}

// TestQueueDelays: queueing delay is each probe's round trip less the
// base RTT, sorted, within the window; Quantile picks from it.
func TestQueueDelays(t *testing.T) {
	tr := &Trace{BaseRTT: 40 * time.Millisecond}
	for i, rtt := range []int{40, 90, 50, 70, 60, 45} {
		tr.Probes = append(tr.Probes, Sample{At: time.Duration(i) * time.Second, RTT: time.Duration(rtt) * time.Millisecond})
	}
	q := tr.QueueDelays(time.Second, 5*time.Second) // probes 1–4: 90, 50, 70, 60
	want := []time.Duration{10, 20, 30, 50}
	if len(q) != len(want) {
		t.Fatalf("queue delays %v, want %v ms", q, want)
	}
	for i := range q {
		if q[i] != want[i]*time.Millisecond {
			t.Fatalf("queue delays %v, want %v ms", q, want)
		}
	}
	if m := Quantile(q, 0.5); m != 30*time.Millisecond {
		t.Errorf("median %v, want 30ms", m)
	}
	if m := Quantile(q, 1); m != 50*time.Millisecond {
		t.Errorf("maximum %v, want 50ms", m)
	}
	if m := Quantile(nil, 0.5); m != 0 {
		t.Errorf("median of nothing %v, want 0", m)
	}
}

// TestSNMPFields reads counters by name from /proc/net/snmp's layout,
// and says which is missing.
func TestSNMPFields(t *testing.T) {
	const snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n" +
		"Udp: 100 2 3 90 7 5\n"
	v, err := snmpFields(snmp, "Udp:", "RcvbufErrors", "SndbufErrors")
	if err != nil || v[0] != 7 || v[1] != 5 {
		t.Errorf("got %v, %v; want [7 5]", v, err)
	}
	if _, err := snmpFields(snmp, "Udp:", "Nonesuch"); err == nil {
		t.Error("a missing counter gave no error")
	}
	if _, err := snmpFields(snmp, "Tcp:", "InSegs"); err == nil {
		t.Error("a missing protocol gave no error")
	}
}
