package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// built is the minibitly binary built by Binary, once per test binary, and
// removed by RunAndClose.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Binary builds ./cmd/minibitly once per test binary (with -race when the
// test runs with it) and returns its path. RunAndClose removes it.
func Binary(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		built.path, built.err = buildBinary()
	})
	if built.err != nil {
		t.Fatalf("harness: %v", built.err)
	}
	return built.path
}

// BuildBinary is Binary without a test, for programs (bench/chaos): it
// builds ./cmd/minibitly once per process; RemoveBinary removes it.
func BuildBinary() (string, error) {
	built.once.Do(func() {
		built.path, built.err = buildBinary()
	})
	return built.path, built.err
}

// RemoveBinary removes what Binary or BuildBinary built, if anything.
func RemoveBinary() error { return removeBinary() }

func buildBinary() (string, error) {
	dir, err := os.MkdirTemp("", "minibitly-bin-")
	if err != nil {
		return "", fmt.Errorf("binary temp dir: %w", err)
	}
	built.dir = dir
	path := filepath.Join(dir, "minibitly")
	_, file, _, _ := runtime.Caller(0)
	args := []string{"build", "-o", path}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/minibitly")...)
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/minibitly: %v\n%s", err, out)
	}
	return path, nil
}

// removeBinary removes what Binary built, if anything.
func removeBinary() error {
	if built.dir == "" {
		return nil
	}
	return os.RemoveAll(built.dir)
}
