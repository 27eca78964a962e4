package netsim

import (
	"net"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
)

// Importing netsim gives its PacketConn the batching endpoint in package
// utp (coalesced reads, gathered sends, a Wake), so that the IO paths
// taken on Linux UDP run in deterministic simulations too. The type is
// matched exactly: a type that embeds PacketConn may block in WriteTo and
// gets the generic endpoint.
func init() {
	packetio.RegisterCoalescer(func(pc net.PacketConn) (packetio.Coalescer, bool) {
		c, ok := pc.(*PacketConn)
		return c, ok
	})
}
