package actors

import (
	"context"
	"log/slog"
)

// levelFloor passes only records at or above min to h: protoactor's own
// logging is routed into the service's handler at Warn.
type levelFloor struct {
	h   slog.Handler
	min slog.Level
}

func (f levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.h.Enabled(ctx, l)
}
func (f levelFloor) Handle(ctx context.Context, r slog.Record) error { return f.h.Handle(ctx, r) }
func (f levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h: f.h.WithAttrs(a), min: f.min}
}
func (f levelFloor) WithGroup(g string) slog.Handler {
	return levelFloor{h: f.h.WithGroup(g), min: f.min}
}
