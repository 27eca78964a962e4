package utp

import (
	"net"
	"testing"
)

// TestListenAddrLikeResolver checks that Listen's literal fast path gives
// what net.ResolveUDPAddr gives, errors included, for each network.
func TestListenAddrLikeResolver(t *testing.T) {
	for _, network := range []string{"udp", "udp4", "udp6"} {
		for _, address := range []string{
			"127.0.0.1:0", "0.0.0.0:6881", "[::1]:0", "[::]:7000",
			"[::ffff:127.0.0.1]:0", "[fe80::1%lo]:9", ":0", "localhost:0",
			"127.0.0.1", "127.0.0.1:99999",
		} {
			want, wantErr := net.ResolveUDPAddr(network, address)
			got, err := listenAddr(network, address)
			if (err != nil) != (wantErr != nil) {
				t.Errorf("listenAddr(%q, %q) error %v, resolver's %v", network, address, err, wantErr)
				continue
			}
			if err == nil && (!got.IP.Equal(want.IP) || got.Port != want.Port || got.Zone != want.Zone) {
				t.Errorf("listenAddr(%q, %q) = %v, resolver's %v", network, address, got, want)
			}
		}
	}
}
