package wire

import "testing"

func TestSeqArithmeticWraps(t *testing.T) {
	cases := []struct {
		a, b uint16
		diff int
	}{
		{0, 65535, 1},
		{65535, 0, -1},
		{5, 65530, 11},
		{65530, 5, -11},
		{100, 100, 0},
		{32767, 0, 32767},
		{0, 32768, -32768},
	}
	for _, c := range cases {
		if got := SeqDiff(c.a, c.b); got != c.diff {
			t.Errorf("SeqDiff(%d,%d)=%d want %d", c.a, c.b, got, c.diff)
		}
		if got := SeqLess(c.a, c.b); got != (c.diff < 0) {
			t.Errorf("SeqLess(%d,%d)=%v", c.a, c.b, got)
		}
		if got := SeqLessEq(c.a, c.b); got != (c.diff <= 0) {
			t.Errorf("SeqLessEq(%d,%d)=%v", c.a, c.b, got)
		}
	}
	// Counting across 65535→0 keeps order.
	s := uint16(65530)
	for range 20 {
		if !SeqLess(s, s+1) || SeqLess(s+1, s) {
			t.Fatalf("order broken at %d", s)
		}
		s++
	}
}

func TestSACKBits(t *testing.T) {
	mask := make([]byte, 4)
	for _, i := range []int{0, 7, 8, 31} {
		SACKSet(mask, i)
	}
	want := []byte{0x81, 0x01, 0, 0x80}
	for j := range want {
		if mask[j] != want[j] {
			t.Fatalf("mask % x want % x", mask, want)
		}
	}
	for i := -1; i < 40; i++ {
		set := i == 0 || i == 7 || i == 8 || i == 31
		if SACKHas(mask, i) != set {
			t.Errorf("bit %d: got %v", i, !set)
		}
	}
}
