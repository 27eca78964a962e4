package interop

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// torrentFile is a single-file torrent made by the test (BEP 3
// metainfo): its content, its pieces' SHA-1 digests and its info hash.
type torrentFile struct {
	name      string
	data      []byte
	pieceLen  int
	pieces    [][sha1.Size]byte
	infoHash  [sha1.Size]byte
	metainfo  []byte // the bencoded .torrent file
	numPieces int
}

// newTorrent makes a torrent of size bytes of stream seed, cut into
// pieces of pieceLen bytes.
func newTorrent(name string, seed uint64, size, pieceLen int) *torrentFile {
	t := &torrentFile{name: name, data: make([]byte, size), pieceLen: pieceLen}
	_, _ = streamSource(seed).Read(t.data)
	var digests []byte
	for off := 0; off < size; off += pieceLen {
		d := sha1.Sum(t.data[off:min(off+pieceLen, size)])
		t.pieces = append(t.pieces, d)
		digests = append(digests, d[:]...)
	}
	t.numPieces = len(t.pieces)
	info := benc(map[string]any{
		"length":       size,
		"name":         name,
		"piece length": pieceLen,
		"pieces":       digests,
	})
	t.infoHash = sha1.Sum(info)
	// The info dictionary is spliced in as encoded, so that the hash
	// libtorrent computes over it is infoHash.
	var m bytes.Buffer
	m.WriteString("d4:info")
	m.Write(info)
	m.WriteString("e")
	t.metainfo = m.Bytes()
	return t
}

// piece returns piece i's bytes.
func (t *torrentFile) piece(i int) []byte {
	return t.data[i*t.pieceLen : min((i+1)*t.pieceLen, len(t.data))]
}

// writeMetainfo writes the .torrent file into dir and returns its path.
func (t *torrentFile) writeMetainfo(dir string) (string, error) {
	p := filepath.Join(dir, t.name+".torrent")
	return p, os.WriteFile(p, t.metainfo, 0o644)
}

// writeData writes the content into dir, where a seed finds it.
func (t *torrentFile) writeData(dir string) error {
	return os.WriteFile(filepath.Join(dir, t.name), t.data, 0o644)
}

// checkData reads the content a peer saved in dir and checks every
// piece's SHA-1 digest.
func (t *torrentFile) checkData(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, t.name))
	if err != nil {
		return err
	}
	if len(b) != len(t.data) {
		return fmt.Errorf("%d bytes saved, want %d", len(b), len(t.data))
	}
	for i := range t.numPieces {
		if sha1.Sum(b[i*t.pieceLen:min((i+1)*t.pieceLen, len(b))]) != t.pieces[i] {
			return fmt.Errorf("piece %d of %d fails its SHA-1", i, t.numPieces)
		}
	}
	return nil
}

// benc encodes v (int, string, []byte or map[string]any) in bencoding
// (BEP 3), dictionary keys sorted as it requires.
func benc(v any) []byte {
	switch v := v.(type) {
	case int:
		return []byte("i" + strconv.Itoa(v) + "e")
	case string:
		return []byte(strconv.Itoa(len(v)) + ":" + v)
	case []byte:
		return append([]byte(strconv.Itoa(len(v))+":"), v...)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b := []byte("d")
		for _, k := range keys {
			b = append(b, benc(k)...)
			b = append(b, benc(v[k])...)
		}
		return append(b, 'e')
	}
	panic(fmt.Sprintf("benc: unsupported %T", v))
}
