package cc

import (
	"testing"
	"time"
)

const ms = time.Millisecond

func TestRTTEstimatorBeforeSamples(t *testing.T) {
	tests := []struct {
		cfg  RTTConfig
		want time.Duration
	}{
		{RTTConfig{}, time.Second}, // RFC 6298 2.1
		{RTTConfig{Initial: 3 * time.Second}, 3 * time.Second},
		{RTTConfig{Initial: 50 * ms}, 200 * ms},             // Min applies too
		{RTTConfig{Initial: 90 * time.Second}, time.Minute}, // and Max
	}
	for _, tt := range tests {
		r := NewRTTEstimator(tt.cfg)
		if r.HasSample() || r.SRTT() != 0 || r.RTTVar() != 0 {
			t.Errorf("%+v: fresh estimator has state", tt.cfg)
		}
		if got := r.RTO(); got != tt.want {
			t.Errorf("%+v: RTO = %v, want %v", tt.cfg, got, tt.want)
		}
	}
}

func TestRTTEstimatorRFC6298Formulas(t *testing.T) {
	// Each row is one sample and the exact state after it.
	tests := []struct {
		sample, srtt, rttvar, rto time.Duration
	}{
		// 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4*RTTVAR).
		{100 * ms, 100 * ms, 50 * ms, 300 * ms},
		// 2.3: RTTVAR = 3/4*50 + 1/4*|100-200| = 62.5; SRTT = 7/8*100 + 1/8*200.
		{200 * ms, 112500 * time.Microsecond, 62500 * time.Microsecond, 362500 * time.Microsecond},
		// RTTVAR = 3/4*62.5 + 1/4*|112.5-50| = 62.5; SRTT = 7/8*112.5 + 1/8*50.
		{50 * ms, 104687500, 62500 * time.Microsecond, 354687500},
		// A sample equal to SRTT shrinks only RTTVAR.
		{104687500, 104687500, 46875 * time.Microsecond, 292187500},
	}
	r := NewRTTEstimator(RTTConfig{})
	for i, tt := range tests {
		r.OnSample(tt.sample)
		if !r.HasSample() || r.SRTT() != tt.srtt || r.RTTVar() != tt.rttvar || r.RTO() != tt.rto {
			t.Errorf("after sample %d (%v): SRTT %v RTTVAR %v RTO %v; want %v %v %v",
				i, tt.sample, r.SRTT(), r.RTTVar(), r.RTO(), tt.srtt, tt.rttvar, tt.rto)
		}
	}
}

func TestRTTEstimatorClamps(t *testing.T) {
	tests := []struct {
		name    string
		cfg     RTTConfig
		samples []time.Duration
		want    time.Duration
	}{
		{"min clamp", RTTConfig{}, []time.Duration{ms, ms, ms}, 200 * ms},
		{"custom min", RTTConfig{Min: time.Second}, []time.Duration{100 * ms}, time.Second},
		{"max clamp", RTTConfig{}, []time.Duration{50 * time.Second}, time.Minute},
		// With a steady RTT, RTTVAR decays to nothing and G is the margin.
		{"granularity", RTTConfig{Min: time.Nanosecond}, repeat(10*ms, 200), 11 * ms},
		{"negative ignored", RTTConfig{}, []time.Duration{100 * ms, -time.Second}, 300 * ms},
		{"zero accepted", RTTConfig{Min: time.Nanosecond}, []time.Duration{0}, ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRTTEstimator(tt.cfg)
			for _, s := range tt.samples {
				r.OnSample(s)
			}
			if got := r.RTO(); got != tt.want {
				t.Errorf("RTO = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRTTEstimatorHugeSampleDoesNotOverflow(t *testing.T) {
	r := NewRTTEstimator(RTTConfig{})
	r.OnSample(1 << 62)
	r.OnSample(1 << 62)
	if r.SRTT() != time.Hour || r.RTO() != time.Minute {
		t.Fatalf("SRTT %v RTO %v, want 1h and 1m", r.SRTT(), r.RTO())
	}
}

func TestRTTEstimatorBackoff(t *testing.T) {
	r := NewRTTEstimator(RTTConfig{})
	r.OnSample(100 * ms) // RTO 300 ms
	want := []time.Duration{600 * ms, 1200 * ms, 2400 * ms, 4800 * ms, 9600 * ms, 19200 * ms, 38400 * ms, time.Minute, time.Minute, time.Minute}
	for i, w := range want {
		r.Backoff()
		if got := r.RTO(); got != w {
			t.Fatalf("after %d backoffs RTO = %v, want %v", i+1, got, w)
		}
	}
	if r.backoff > 8 {
		t.Errorf("backoff count %d grows past the cap", r.backoff)
	}
	r.ResetBackoff()
	if got := r.RTO(); got != 300*ms {
		t.Fatalf("after ResetBackoff RTO = %v, want 300ms", got)
	}
	r.Backoff()
	r.Backoff()
	r.OnSample(100 * ms) // a fresh sample recomputes the RTO (RFC 6298 5.5, 2.3)
	if got, want := r.RTO(), 100*ms+4*(3*50*ms/4); got != want {
		t.Fatalf("after a fresh sample RTO = %v, want %v", got, want)
	}
}

func TestRTTEstimatorBackoffBeforeSamples(t *testing.T) {
	r := NewRTTEstimator(RTTConfig{})
	for _, w := range []time.Duration{2, 4, 8, 16, 32, 60, 60} {
		r.Backoff()
		if got := r.RTO(); got != w*time.Second {
			t.Fatalf("RTO = %v, want %v", got, w*time.Second)
		}
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

// MinRTT is the smallest sample, kept through larger ones: the path's
// round trip that both ends of a connection can report alike.
func TestRTTEstimatorMinRTT(t *testing.T) {
	r := NewRTTEstimator(RTTConfig{})
	if r.MinRTT() != 0 {
		t.Fatalf("MinRTT before samples = %v, want 0", r.MinRTT())
	}
	for _, tt := range []struct{ sample, want time.Duration }{
		{80 * ms, 80 * ms}, {300 * ms, 80 * ms}, {30 * ms, 30 * ms}, {-ms, 30 * ms}, {90 * ms, 30 * ms},
	} {
		r.OnSample(tt.sample)
		if got := r.MinRTT(); got != tt.want {
			t.Fatalf("after sample %v: MinRTT %v, want %v", tt.sample, got, tt.want)
		}
	}
}
