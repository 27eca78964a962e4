# Tasks for go-utp v2. Install just with `npm install -g rust-just`
# (or any package manager that has it); `go test ./...` works without it.

# The README's test commands: the library's module, then the interop
# tests, a module of their own (go test ./... does not enter it); CI runs
# both among other checks (see ci).
test:
    go test ./...
    cd e2e/interop && go test -timeout 30m ./...

# Everything CI runs: gofmt, go vet, go test ./..., the race detector
# with -short, the interop and benchmark modules' tests and brief fuzzing.
ci:
    .ci/run

# The whole tree under the race detector, as CI runs it. -short keeps
# the simulation sweep and the 64-sender kernel-drop test small: at its
# full 1 GiB, the detector slows the receiving Socket about tenfold and
# the start-up burst of 64 new connections overflows the kernel buffer
# before their windows are shared (the test proves the bound at full
# speed in go test ./...).
race:
    go test -race -short ./...
    cd e2e/interop && go test -race -short -timeout 30m ./...

# Fuzz each target for a while (`just fuzz 10m` for longer).
fuzz fuzztime="60s":
    go test ./utp/internal/wire -run '^$' -fuzz FuzzParse -fuzztime {{fuzztime}}
    go test ./utp/internal/proto -run '^$' -fuzz FuzzConn -fuzztime {{fuzztime}}
    go test ./cmd/utp/internal/fileproto -run '^$' -fuzz FuzzReceive -fuzztime {{fuzztime}}
    go test ./cmd/utp/internal/fileproto -run '^$' -fuzz FuzzParseHeader -fuzztime {{fuzztime}}

# A long seed sweep of the simulated transfers (10,000 seeds).
sim seeds="10000":
    go test ./utp/internal/proto -run 'TestIntegritySweep' -count=1 -timeout 6h -sim.seeds {{seeds}} -v

# The performance suite beside TCP, quic-go, libutp and anacrolix/utp;
# rewrites docs/performance.md. Interleaved rounds, each measurement in a
# fresh process; about 28 minutes for 3 rounds: run it on an otherwise
# idle machine.
bench rounds="3":
    cd bench && go run . -rounds {{rounds}}

# The real kernel bottlenecks (e2e/realpath: network namespaces, a tbf,
# a delay line; root): issue 14's table (LEDBAT++, LEDBAT, libutp, TCP
# cubic) and issue 17's throughput beside TCP cubic and quic-go, with
# plots; rewrites the "Real paths" part of docs/performance.md. About 7
# minutes a round (9–10 with realpath-before, at load 20–35).
realpath rounds="3":
    cd bench && go run . realpath -rounds {{rounds}}

# The same with the library at commit rev as a "before" column and in the
# before/after plots (bench/realpath-before.sh builds it in a scratch
# copy). 7d36963 is the commit before issue 14's first LEDBAT++ change:
# RFC 6817 LEDBAT and the loss recovery from before issue 17.
realpath-before rev="7d36963" rounds="3":
    cd bench && ./realpath-before.sh {{rev}} -rounds {{rounds}}

# gofmt, go vet and staticcheck.
lint:
    test -z "$(gofmt -l .)" || (gofmt -l . && exit 1)
    go vet ./...
    cd e2e/interop && go vet ./...
    go run honnef.co/go/tools/cmd/staticcheck@v0.6.1 ./...
