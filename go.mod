module github.com/inet256/go-utp/v2

go 1.26.0

require (
	github.com/brendoncarroll/stdctx v0.0.0-20230325181752-a8a6ba46e3c1
	github.com/inet256/inet256 v0.0.8-0.20230603164405-67b6a7a91980
	github.com/spf13/cobra v1.10.2
	go.uber.org/goleak v1.3.0
	go.uber.org/zap v1.24.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.49.0
)

require (
	github.com/brendoncarroll/go-exp v0.0.0-20230603162556-069bd4cbec7a // indirect
	github.com/brendoncarroll/go-p2p v0.0.0-20230603163636-96d6516de644 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	go.uber.org/atomic v1.7.0 // indirect
	go.uber.org/multierr v1.6.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/exp v0.0.0-20240823005443-9b4947da3948 // indirect
	golang.org/x/sync v0.8.0 // indirect
)
