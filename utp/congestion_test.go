package utp

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
)

// WithCongestionControl and WithReceiverYield reach the configuration of
// the Socket's connections; LEDBAT++ and yielding are the defaults.
func TestCongestionControlOption(t *testing.T) {
	checkLeaks(t)
	for _, tt := range []struct {
		opts    []SocketOption
		want    string
		noYield bool
	}{
		{nil, "*cc.LEDBATPP", false},
		{[]SocketOption{WithCongestionControl(LEDBATPlusPlus)}, "*cc.LEDBATPP", false},
		{[]SocketOption{WithCongestionControl(LEDBAT), WithReceiverYield(false)}, "*cc.LEDBAT", true},
	} {
		s := listenUDP(t, tt.opts...)
		cfg := s.protoConfig(s.Addr(), pathInfo{})
		var got string
		switch cfg.NewController(time.Time{}, 1400).(type) {
		case *cc.LEDBATPP:
			got = "*cc.LEDBATPP"
		case *cc.LEDBAT:
			got = "*cc.LEDBAT"
		}
		if got != tt.want || cfg.NoYield != tt.noYield {
			t.Errorf("options %d: controller %s, NoYield %v; want %s, %v", len(tt.opts), got, cfg.NoYield, tt.want, tt.noYield)
		}
	}
	if LEDBATPlusPlus.String() != "LEDBAT++" || LEDBAT.String() != "LEDBAT" || CongestionControl(9).String() != "CongestionControl(?)" {
		t.Error("CongestionControl.String")
	}
}
