module github.com/inet256/go-utp/v2

go 1.26.0

require (
	github.com/brendoncarroll/stdctx v0.0.0-20230325181752-a8a6ba46e3c1
	go.uber.org/goleak v1.3.0
	go.uber.org/zap v1.24.0
	golang.org/x/net v0.62.0
)

require (
	go.uber.org/atomic v1.7.0 // indirect
	go.uber.org/multierr v1.6.0 // indirect
)
