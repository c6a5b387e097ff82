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
	return log.New(slogWriter{l: l}, "", 0)
}

// newNodeLogger is newStdLogger that also calls suspect with the name of a member this
// node's own probe has just failed (memberlist then marks it suspect). memberlist v0.7.0
// has no other way to learn of a suspicion: no event is raised, and Members() returns the
// embedded Node, whose State is never updated (nodeState.State shadows it).
func newNodeLogger(l *slog.Logger, suspect func(name string)) *log.Logger {
	return log.New(slogWriter{l: l, suspect: suspect}, "", 0)
}

type slogWriter struct {
	l       *slog.Logger
	suspect func(name string) // nil: not watched
}

// memberlist's line when its probe of a member failed, direct and indirect (state.go,
// probeNode), just before it marks the member suspect.
const (
	suspectPrefix = "Suspect "
	suspectSuffix = " has failed, no acks received"
)

// suspectName returns the member named by a memberlist "Suspect … has failed" line (its
// level and "memberlist: " prefixes removed).
func suspectName(line []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(line, []byte(suspectPrefix))
	if !ok {
		return "", false
	}
	name, ok := bytes.CutSuffix(rest, []byte(suspectSuffix))
	if !ok || len(name) == 0 {
		return "", false
	}
	return string(name), true
}

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
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	if w.suspect != nil && level == slog.LevelInfo {
		if name, ok := suspectName(line); ok {
			w.suspect(name)
		}
	}
	ctx := context.Background()
	if !w.l.Enabled(ctx, level) {
		return len(p), nil
	}
	w.l.Log(ctx, level, string(line), "component", "memberlist")
	return len(p), nil
}
