package cluster

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestSlogWriter_Levels(t *testing.T) {
	for line, want := range map[string]string{
		"[DEBUG] memberlist: Stream connection from=1.2.3.4:5":     "level=DEBUG msg=\"Stream connection from=1.2.3.4:5\" component=memberlist",
		"[INFO] memberlist: Suspect b has failed":                  "level=INFO msg=\"Suspect b has failed\"",
		"[WARN] memberlist: Refuting a dead message":               "level=WARN msg=\"Refuting a dead message\"",
		"[ERR] memberlist: Failed to send ping: boom":              "level=ERROR msg=\"Failed to send ping: boom\"",
		"[ERR] memberlist: read: use of closed network connection": "level=DEBUG",
		"no prefix at all": "level=INFO msg=\"no prefix at all\"",
	} {
		var buf bytes.Buffer
		l := newStdLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
			Level:       slog.LevelDebug,
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return dropTime(a) },
		})))
		l.Println(line)
		if !strings.Contains(buf.String(), want) {
			t.Errorf("%q logged %q, want it to contain %q", line, buf.String(), want)
		}
	}
}

func dropTime(a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
