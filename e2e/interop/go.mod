// Module interop holds the tests against other uTP implementations and a
// real BitTorrent client. It is a module of its own so that those peers
// (cgo libutp, anacrolix/utp, the v0 library) stay out of the library's
// go.mod.
module github.com/inet256/go-utp/v2/e2e/interop

go 1.26.0

require (
	github.com/anacrolix/go-libutp v1.5.1
	github.com/anacrolix/utp v0.2.0
	github.com/inet256/go-utp v0.0.0-20230117000540-718d56e713a8
	github.com/inet256/go-utp/v2 v2.0.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/anacrolix/log v0.13.1 // indirect
	github.com/anacrolix/missinggo v1.3.0 // indirect
	github.com/anacrolix/missinggo/perf v1.0.0 // indirect
	github.com/anacrolix/missinggo/v2 v2.10.0 // indirect
	github.com/anacrolix/mmsg v1.0.1 // indirect
	github.com/anacrolix/sync v0.4.0 // indirect
	github.com/brendoncarroll/stdctx v0.0.0-20230325181752-a8a6ba46e3c1 // indirect
	github.com/huandu/xstrings v1.3.2 // indirect
	go.uber.org/atomic v1.7.0 // indirect
	go.uber.org/multierr v1.6.0 // indirect
	go.uber.org/zap v1.24.0 // indirect
	golang.org/x/exp v0.0.0-20240823005443-9b4947da3948 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

replace github.com/inet256/go-utp/v2 => ../..
