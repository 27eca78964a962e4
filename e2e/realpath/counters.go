//go:build linux

package realpath

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Losses are the path's drop counters: where packets were lost says
// whether a protocol overshot the bottleneck or a receiver fell behind.
// (Datagram counts sent and received do not compare end to end: a GSO
// send counts once at the sender, and the tbf may cut it into segments
// the receiver counts one by one.)
type Losses struct {
	// Bottleneck is what the tbf dropped (its queue was full).
	Bottleneck int64
	// ReceiverSocket is UDP datagrams the receiver's kernel dropped for
	// want of room in a socket's buffer (RcvbufErrors): the receiving
	// process did not read fast enough.
	ReceiverSocket int64
	// SenderSocket is UDP datagrams the sender's kernel refused or
	// dropped for want of room in a socket's send buffer (SndbufErrors).
	SenderSocket int64
	// Devices is what the router's and the endpoints' network devices
	// dropped, received or sent: a veth whose reader (a softirq) fell
	// behind, or the TUN device's queue toward the delay line.
	Devices int64
}

func (l Losses) sub(m Losses) Losses {
	return Losses{l.Bottleneck - m.Bottleneck, l.ReceiverSocket - m.ReceiverSocket,
		l.SenderSocket - m.SenderSocket, l.Devices - m.Devices}
}

var tbfDropped = regexp.MustCompile(`dropped (\d+)`)

// losses reads the counters now.
func (p *Path) losses() (Losses, error) {
	var l Losses
	out, err := exec.Command("tc", "-n", p.Router, "-s", "qdisc", "show", "dev", "r1").Output()
	if err != nil {
		return l, fmt.Errorf("tc -s: %w", err)
	}
	m := tbfDropped.FindSubmatch(out)
	if m == nil {
		return l, fmt.Errorf("tc -s: no drop count in %q", out)
	}
	l.Bottleneck, _ = strconv.ParseInt(string(m[1]), 10, 64)
	if l.ReceiverSocket, err = udpCounter(p.Receiver, "RcvbufErrors"); err != nil {
		return l, err
	}
	if l.SenderSocket, err = udpCounter(p.Sender, "SndbufErrors"); err != nil {
		return l, err
	}
	for _, ns := range []string{p.Sender, p.Router, p.Receiver} {
		n, err := deviceDrops(ns)
		if err != nil {
			return l, err
		}
		l.Devices += n
	}
	return l, nil
}

// deviceDrops sums the drop counters of every device in namespace ns.
func deviceDrops(ns string) (int64, error) {
	out, err := exec.Command("ip", "-n", ns, "-j", "-s", "link", "show").Output()
	if err != nil {
		return 0, fmt.Errorf("ip -s link: %w", err)
	}
	var links []struct {
		Stats struct {
			RX, TX struct{ Dropped int64 }
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return 0, fmt.Errorf("ip -j -s link: %w", err)
	}
	var n int64
	for _, l := range links {
		n += l.Stats.RX.Dropped + l.Stats.TX.Dropped
	}
	return n, nil
}

// udpCounter reads one UDP counter of namespace ns.
func udpCounter(ns, name string) (int64, error) {
	out, err := exec.Command("ip", "netns", "exec", ns, "cat", "/proc/net/snmp").Output()
	if err != nil {
		return 0, fmt.Errorf("/proc/net/snmp: %w", err)
	}
	v, err := snmpFields(string(out), "Udp:", name)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// snmpFields finds counters in /proc/net/snmp, where each protocol has a
// line of names followed by a line of values.
func snmpFields(snmp, proto string, names ...string) ([]int64, error) {
	var header []string
	for _, line := range strings.Split(snmp, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != proto {
			continue
		}
		if header == nil {
			header = f
			continue
		}
		vals := make([]int64, len(names))
		for j, name := range names {
			i := slices.Index(header, name)
			if i < 0 || i >= len(f) {
				return nil, fmt.Errorf("/proc/net/snmp: no %s %s", proto, name)
			}
			vals[j], _ = strconv.ParseInt(f[i], 10, 64)
		}
		return vals, nil
	}
	return nil, fmt.Errorf("/proc/net/snmp: no %s line", proto)
}
