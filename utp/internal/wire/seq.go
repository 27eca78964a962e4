package wire

// Sequence and acknowledgement numbers are 16 bits and wrap (BEP 29). Two
// numbers compare by their signed distance, which is correct while fewer
// than 32768 packets separate them; the state machine keeps its windows far
// below that.

// SeqDiff returns the signed distance a−b in [-32768, 32767].
func SeqDiff(a, b uint16) int { return int(int16(a - b)) }

// SeqLess reports whether a comes before b.
func SeqLess(a, b uint16) bool { return int16(a-b) < 0 }

// SeqLessEq reports whether a comes before b or equals it.
func SeqLessEq(a, b uint16) bool { return int16(a-b) <= 0 }

// SACK bitmask helpers. Offset i names sequence number ack_nr+2+i (BEP 29:
// ack_nr+1 is by definition missing, so the mask starts one past it).

// SACKHas reports whether bit i is set; bits past the mask are unset.
func SACKHas(mask []byte, i int) bool {
	if i < 0 || i/8 >= len(mask) {
		return false
	}
	return mask[i/8]&(1<<(i%8)) != 0
}

// SACKSet sets bit i, which must lie within the mask.
func SACKSet(mask []byte, i int) { mask[i/8] |= 1 << (i % 8) }
