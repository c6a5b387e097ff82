package cluster

import (
	"strings"
	"testing"

	"github.com/hashicorp/memberlist"
)

func TestMeta_RoundTrip(t *testing.T) {
	for name, tc := range map[string]struct {
		http, remote string
		leaving      bool
	}{
		"both":    {"10.0.0.1:8080", "10.0.0.1:8090", false},
		"leaving": {"10.0.0.1:8080", "10.0.0.1:8090", true},
		"empty":   {"", "", false},
		"ipv6":    {"[fd00::1]:8080", "[fd00::1]:8090", false},
	} {
		t.Run(name, func(t *testing.T) {
			b := encodeMeta(nil, tc.http, tc.remote, tc.leaving)
			h, r, l, err := decodeMeta(b)
			if err != nil || h != tc.http || r != tc.remote || l != tc.leaving {
				t.Fatalf("decode(encode) = %q, %q, %v, %v", h, r, l, err)
			}
		})
	}
}

func TestMeta_Malformed(t *testing.T) {
	good := encodeMeta(nil, "a:1", "b:2", false)
	for name, b := range map[string][]byte{
		"nil":       nil,
		"version":   append([]byte{9}, good[1:]...),
		"truncated": good[:4],
		"huge len":  {metaVersion, 0xff, 0xff, 0xff, 0x0f},
	} {
		if _, _, _, err := decodeMeta(b); err == nil {
			t.Errorf("%s: decodeMeta(%v) succeeded", name, b)
		}
	}
	// A version-1 record without the flags byte (and with extra bytes) still decodes.
	if h, r, l, err := decodeMeta(good[:len(good)-1]); err != nil || h != "a:1" || r != "b:2" || l {
		t.Errorf("without flags: %q %q %v %v", h, r, l, err)
	}
	if _, _, _, err := decodeMeta(append(good, 0xAA, 0xBB)); err != nil {
		t.Errorf("with trailing bytes: %v", err)
	}
}

func TestNew_MetaTooLarge(t *testing.T) {
	cfg := FastConfig()
	cfg.NodeName = "n"
	cfg.HTTPAddr = strings.Repeat("h", memberlist.MetaMaxSize/2)
	cfg.RemoteAddr = strings.Repeat("r", memberlist.MetaMaxSize/2)
	if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "metadata") {
		t.Fatalf("New with %d bytes of addresses: %v, want a metadata size error", memberlist.MetaMaxSize, err)
	}
	cfg.HTTPAddr, cfg.RemoteAddr = cfg.HTTPAddr[:200], cfg.RemoteAddr[:200]
	if _, err := New(cfg, nil); err != nil {
		t.Fatalf("New with 400 bytes of addresses: %v", err)
	}
}
