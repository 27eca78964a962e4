package cc

// SetMSS changes the size of a full packet, for a connection whose
// packets grow or shrink with path MTU discovery. The window floor and
// RFC 6817's ALLOWED_INCREASE * MSS cap follow it at once: a cap sized
// for smaller packets than the sender sends would keep the window from
// ever holding one more packet than is in flight. A default
// IncreasePerRTT (GAIN * MSS) follows too. The window itself stays,
// within the new floor.
func (l *LEDBAT) SetMSS(mss int) {
	if mss <= 0 || mss == l.cfg.MSS {
		return
	}
	if l.cfg.IncreasePerRTT == max(int(l.cfg.Gain*float64(l.cfg.MSS)), libutpIncreasePerRTT) {
		l.cfg.IncreasePerRTT = max(int(l.cfg.Gain*float64(mss)), libutpIncreasePerRTT)
	}
	l.cfg.MSS = mss
	l.floor = float64(l.cfg.MinWindow) * float64(mss)
	l.ceiling = max(float64(l.cfg.MaxWindowBytes), l.floor)
	l.cwnd = l.clamp(l.cwnd)
}
