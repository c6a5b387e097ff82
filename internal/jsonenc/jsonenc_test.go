package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// The same bytes as encoding/json, with and without HTML escaping.
func TestAppendString_AsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "\b\f\n\r\t\x01\x1f", "<a&b>", "\u2028\u2029", "bad\xffutf8", "ü日本"} {
		html, _ := json.Marshal(s)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		plain := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := AppendString(nil, s, true); !bytes.Equal(got, html) {
			t.Errorf("AppendString(%q, html) = %s, want %s", s, got, html)
		}
		if got := AppendString(nil, s, false); !bytes.Equal(got, plain) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, plain)
		}
	}
}

func TestAppendTime_AsMarshalJSON(t *testing.T) {
	for _, tm := range []time.Time{time.Unix(1_700_000_000, 123456789).UTC(), time.Date(2026, 12, 2, 1, 2, 3, 0, time.FixedZone("x", 3600))} {
		want, _ := tm.MarshalJSON()
		if got, ok := AppendTime(nil, tm); !ok || !bytes.Equal(got, want) {
			t.Errorf("AppendTime(%v) = %s, %v; want %s", tm, got, ok, want)
		}
	}
	if _, ok := AppendTime(nil, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("a year past 9999 was appended; MarshalJSON refuses it")
	}
}
