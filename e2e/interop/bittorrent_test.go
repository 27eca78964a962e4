package interop

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
)

// A minimal BitTorrent peer (BEP 3, peer wire protocol), enough to seed
// or download one torrent from a real client over any net.Conn: the
// handshake, bitfield, have, choke, unchoke, interested, request and
// piece. It advertises no extension (no fast extension, no extension
// protocol, no DHT), so a conforming peer sends it nothing else.

// Message ids (BEP 3).
const (
	btChoke         = 0
	btUnchoke       = 1
	btInterested    = 2
	btNotInterested = 3
	btHave          = 4
	btBitfield      = 5
	btRequest       = 6
	btPiece         = 7
	btCancel        = 8
)

const (
	btProtocol = "BitTorrent protocol"
	// btBlock is the request size every client uses (BEP 3 suggests
	// 2^14; libtorrent and others refuse larger ones).
	btBlock = 16 << 10
	// btPipeline is how many requests a download keeps outstanding.
	btPipeline = 64
	// btMaxMessage bounds a message's length: a piece message of the
	// largest block libtorrent serves (128 KiB) and its header.
	btMaxMessage = 128<<10 + 9
)

// errNotPlaintext is the handshake's error when the first byte is not
// the plaintext protocol header: the other side speaks another protocol,
// or began an encrypted handshake (Message Stream Encryption).
var errNotPlaintext = errors.New("not a plaintext BitTorrent handshake (an encrypted one?)")

// btConn is one peer-wire connection.
type btConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

// btHandshake sends our handshake, reads the peer's and checks that it
// is for the same torrent.
func btHandshake(c net.Conn, infoHash [20]byte, peerID string) (*btConn, error) {
	bc := &btConn{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10)}
	var hs []byte
	hs = append(hs, byte(len(btProtocol)))
	hs = append(hs, btProtocol...)
	hs = append(hs, make([]byte, 8)...) // reserved: no extensions
	hs = append(hs, infoHash[:]...)
	hs = append(hs, fmt.Sprintf("%-20.20s", peerID)...)
	if _, err := bc.w.Write(hs); err != nil {
		return nil, err
	}
	if err := bc.w.Flush(); err != nil {
		return nil, fmt.Errorf("send handshake: %w", err)
	}
	theirs := make([]byte, len(hs))
	if _, err := io.ReadFull(bc.r, theirs); err != nil {
		return nil, fmt.Errorf("read handshake: %w", err)
	}
	if theirs[0] != byte(len(btProtocol)) || string(theirs[1:20]) != btProtocol {
		return nil, errNotPlaintext
	}
	if !bytes.Equal(theirs[28:48], infoHash[:]) {
		return nil, fmt.Errorf("handshake for info hash %x, want %x", theirs[28:48], infoHash)
	}
	return bc, nil
}

// send queues one message; flush sends what is queued, and reports the
// first write error (bufio.Writer keeps it).
func (bc *btConn) send(id byte, payload ...[]byte) {
	n := 1
	for _, p := range payload {
		n += len(p)
	}
	var h [5]byte
	binary.BigEndian.PutUint32(h[:4], uint32(n))
	h[4] = id
	bc.w.Write(h[:])
	for _, p := range payload {
		bc.w.Write(p)
	}
}

func (bc *btConn) flush() error { return bc.w.Flush() }

// recv reads the next message; a keepalive is id -1.
func (bc *btConn) recv() (id int, payload []byte, err error) {
	var h [4]byte
	if _, err := io.ReadFull(bc.r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n == 0 {
		return -1, nil, nil
	}
	if n > btMaxMessage {
		return 0, nil, fmt.Errorf("message of %d bytes, more than %d", n, btMaxMessage)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(bc.r, b); err != nil {
		return 0, nil, err
	}
	return int(b[0]), b[1:], nil
}

func u32(v int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

// btSeed serves t to the peer: it says it has every piece, unchokes it,
// and answers each request, until reading fails (the test closes the
// connection when the peer says it is done). It returns the bytes served.
func btSeed(bc *btConn, t *torrentFile) (served int64, err error) {
	bits := make([]byte, (t.numPieces+7)/8)
	for i := range t.numPieces {
		bits[i/8] |= 0x80 >> (i % 8)
	}
	bc.send(btBitfield, bits)
	bc.send(btUnchoke)
	if err := bc.flush(); err != nil {
		return 0, err
	}
	for {
		id, p, err := bc.recv()
		if err != nil {
			return served, err
		}
		if id != btRequest {
			continue // interested, have, keepalive, cancel: nothing to do
		}
		if len(p) != 12 {
			return served, fmt.Errorf("request of %d bytes", len(p))
		}
		idx := int(binary.BigEndian.Uint32(p[0:]))
		begin := int(binary.BigEndian.Uint32(p[4:]))
		length := int(binary.BigEndian.Uint32(p[8:]))
		if idx >= t.numPieces || length == 0 || length > btMaxMessage-9 || begin+length > len(t.piece(idx)) {
			return served, fmt.Errorf("request for piece %d, %d bytes at %d: out of range", idx, length, begin)
		}
		bc.send(btPiece, p[:8], t.piece(idx)[begin:begin+length])
		if err := bc.flush(); err != nil {
			return served, err
		}
		served += int64(length)
	}
}

// blockRef names one block of a piece.
type blockRef struct{ piece, begin int }

// btLeech downloads every piece of t from the peer, keeping btPipeline
// requests outstanding while unchoked, and checks each piece's SHA-1
// digest; it returns the content once it holds all of it.
func btLeech(bc *btConn, t *torrentFile) ([]byte, error) {
	var todo []blockRef
	for i := range t.numPieces {
		for b := 0; b < len(t.piece(i)); b += btBlock {
			todo = append(todo, blockRef{i, b})
		}
	}
	data := make([]byte, len(t.data))
	got := make([]int, t.numPieces) // bytes of each piece received
	out := map[blockRef]bool{}      // requests outstanding
	verified := 0
	choked := true
	bc.send(btInterested)
	if err := bc.flush(); err != nil {
		return nil, err
	}
	for verified < t.numPieces {
		for !choked && len(out) < btPipeline && len(todo) > 0 {
			r := todo[0]
			todo = todo[1:]
			out[r] = true
			bc.send(btRequest, u32(r.piece), u32(r.begin), u32(min(btBlock, len(t.piece(r.piece))-r.begin)))
		}
		if err := bc.flush(); err != nil {
			return nil, err
		}
		id, p, err := bc.recv()
		if err != nil {
			return nil, fmt.Errorf("after %d of %d pieces: %w", verified, t.numPieces, err)
		}
		switch id {
		case btUnchoke:
			choked = false
		case btChoke: // BEP 3: requests not answered before a choke are dropped
			choked = true
			for r := range out {
				todo = append(todo, r)
			}
			clear(out)
		case btPiece:
			if len(p) < 8 {
				return nil, fmt.Errorf("piece message of %d bytes", len(p))
			}
			r := blockRef{int(binary.BigEndian.Uint32(p[0:])), int(binary.BigEndian.Uint32(p[4:]))}
			if !out[r] {
				return nil, fmt.Errorf("piece %d, block at %d: not requested", r.piece, r.begin)
			}
			if want := min(btBlock, len(t.piece(r.piece))-r.begin); len(p)-8 != want {
				return nil, fmt.Errorf("piece %d, block at %d: %d bytes, want %d", r.piece, r.begin, len(p)-8, want)
			}
			delete(out, r)
			copy(data[r.piece*t.pieceLen+r.begin:], p[8:])
			got[r.piece] += len(p) - 8
			if got[r.piece] == len(t.piece(r.piece)) {
				start := r.piece * t.pieceLen
				if sha1.Sum(data[start:start+got[r.piece]]) != t.pieces[r.piece] {
					return nil, fmt.Errorf("piece %d fails its SHA-1", r.piece)
				}
				verified++
				bc.send(btHave, u32(r.piece))
			}
		}
	}
	return data, bc.flush()
}
