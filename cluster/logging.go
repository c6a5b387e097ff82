package cluster

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// newStdLogger returns a log.Logger for memberlist that forwards each line to l, at the
// level named by memberlist's "[LEVEL] " prefix.
func newStdLogger(l *slog.Logger) *log.Logger {
	return log.New(slogWriter{l}, "", 0)
}

type slogWriter struct{ l *slog.Logger }

var logLevels = []struct {
	prefix string
	level  slog.Level
}{
	{"[DEBUG]", slog.LevelDebug},
	{"[TRACE]", slog.LevelDebug},
	{"[INFO]", slog.LevelInfo},
	{"[WARN]", slog.LevelWarn},
	{"[ERR]", slog.LevelError},
	{"[ERROR]", slog.LevelError},
}

// Write handles one log line (log.Logger writes each line with one call).
func (w slogWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for _, ll := range logLevels {
		if bytes.HasPrefix(line, []byte(ll.prefix)) {
			level, line = ll.level, bytes.TrimSpace(line[len(ll.prefix):])
			break
		}
	}
	if level == slog.LevelError && bytes.Contains(line, []byte("use of closed network connection")) {
		level = slog.LevelDebug // memberlist's goroutines racing its own Shutdown
	}
	ctx := context.Background()
	if !w.l.Enabled(ctx, level) {
		return len(p), nil
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	w.l.Log(ctx, level, string(line), "component", "memberlist")
	return len(p), nil
}
