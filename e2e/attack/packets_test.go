package attack

import "encoding/binary"

// uTP packet types (BEP 29), for the forged packets; the codec is the
// test's own, as utp/internal/wire is not importable from here.
const (
	stData  = 0
	stState = 2
	stSyn   = 4
)

// header is a 20-byte BEP 29 header without extensions: type and
// version, extension, connection_id, timestamp_microseconds,
// timestamp_difference_microseconds, wnd_size, seq_nr, ack_nr.
func header(typ int, id, seq, ack uint16, payload int) []byte {
	b := make([]byte, 20+payload)
	b[0] = byte(typ)<<4 | 1
	binary.BigEndian.PutUint16(b[2:], id)
	binary.BigEndian.PutUint32(b[12:], 1<<20)
	binary.BigEndian.PutUint16(b[16:], seq)
	binary.BigEndian.PutUint16(b[18:], ack)
	return b
}
