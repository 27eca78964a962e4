package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// daemonHealth asks the INET256 daemon at api (already checked by
// checkAPI) for /healthz, which a live daemon answers with "INET256" at
// once, unlike a lookup, which it holds while it searches. It tells an
// address the network does not know from a daemon that hangs.
func daemonHealth(ctx context.Context, api string) error {
	u, err := url.Parse(api)
	if err != nil {
		return err
	}
	network, address := "tcp", u.Host
	if u.Scheme == "unix" {
		network, address = "unix", u.Host+u.Path
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		},
		DisableKeepAlives: true, // leave no idle connection behind
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://inet256/healthz", nil)
	if err != nil {
		return err
	}
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "INET256" {
		return fmt.Errorf("/healthz answered %s %q", res.Status, body)
	}
	return nil
}
