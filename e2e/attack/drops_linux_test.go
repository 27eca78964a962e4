package attack

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// socketDrops returns the datagrams the kernel dropped for want of room
// in the receive buffer of the UDP socket bound to port (the last column
// of its line in /proc/net/udp), or -1 when the line is not found. A
// legitimate dial that fails during the flood says with it whether its
// packets reached the server's Socket at all.
func socketDrops(port uint16) int {
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		return -1
	}
	defer f.Close()
	local := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 12 && strings.HasSuffix(fields[1], local) {
			n, err := strconv.Atoi(fields[len(fields)-1])
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
