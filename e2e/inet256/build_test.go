package inet256e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// The daemon's module version, as e2e/inet256d/go.mod requires it, and
// the toolchain that builds it: cmd/inet256 at this version does not build
// with Go 1.21 or later (its quic-go refuses newer runtimes), and the
// module proxy serves go1.20.14.
const (
	inet256Version  = "v0.0.8-0.20230603164405-67b6a7a91980"
	daemonToolchain = "go1.20.14"
	daemonPackage   = "github.com/inet256/inet256/cmd/inet256"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// daemonBinary returns the path of the reference daemon, building it on
// first use. The binary is cached under os.UserCacheDir(), keyed by the
// daemon's version, the nested module's go.sum, the toolchain and the
// platform, so that later runs, and other test processes, reuse it.
func daemonBinary() (string, error) {
	buildOnce.Do(func() { buildPath, buildErr = buildDaemon() })
	return buildPath, buildErr
}

func buildDaemon() (string, error) {
	modDir, err := filepath.Abs(filepath.Join("..", "inet256d"))
	if err != nil {
		return "", err
	}
	sum, err := os.ReadFile(filepath.Join(modDir, "go.sum"))
	if err != nil {
		return "", fmt.Errorf("the daemon's module: %w", err)
	}
	h := sha256.Sum256(sum)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	key := fmt.Sprintf("inet256-%s-%s-%s-%s-%s", inet256Version, daemonToolchain, runtime.GOOS, runtime.GOARCH, hex.EncodeToString(h[:6]))
	dir := filepath.Join(cache, "go-utp-e2e", key)
	bin := filepath.Join(dir, "inet256")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Build beside the final name and rename: a concurrent test process
	// then sees either no binary or a whole one.
	tmp, err := os.CreateTemp(dir, "inet256-building-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCommand(), "build", "-trimpath", "-o", tmp.Name(), daemonPackage)
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(),
		"GOTOOLCHAIN="+daemonToolchain,
		"GOWORK=off",            // a go.work above us must not pull the module in
		"GOFLAGS=-mod=readonly", // go.sum is complete; never edit it
		"CGO_ENABLED=0",
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the inet256 daemon (%s in %s): %v\n%s", cmd, modDir, err, out)
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// goCommand is the go command on PATH: go test puts the running
// toolchain's bin directory first there.
func goCommand() string { return "go" }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
