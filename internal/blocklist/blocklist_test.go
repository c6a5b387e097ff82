package blocklist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "block.txt")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestList_DomainsAndSubdomains(t *testing.T) {
	var l List
	if l.BlockedURL("https://evil.example/") {
		t.Fatal("the zero list blocks")
	}
	n, err := l.Load(write(t, "# phishing\nEvil.Example.\n\n*.malware.test\nxn--pple-43d.com\n"))
	if err != nil || n != 3 {
		t.Fatalf("Load = %d, %v", n, err)
	}
	for u, want := range map[string]bool{
		"https://evil.example/x":            true,
		"https://EVIL.example./":            true,
		"http://a.b.evil.example:8080/":     true,
		"https://notevil.example/":          false,
		"https://evil.example.org/":         false,
		"https://malware.test/":             true,
		"https://x.malware.test/":           true,
		"https://xn--pple-43d.com/":         true,
		"https://example/":                  false,
		"https://user@evil.example@ok.com/": false, // the host is ok.com
	} {
		if got := l.BlockedURL(u); got != want {
			t.Errorf("BlockedURL(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestList_BadFileKeepsTheOldList(t *testing.T) {
	var l List
	if _, err := l.Load(write(t, "evil.example\n")); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"ok.example\nbad domain\n", "пример.рф\n", strings.Repeat("a", MaxLineBytes+1) + "\n"} {
		_, err := l.Load(write(t, body))
		if err == nil {
			t.Fatalf("Load(%.40q) succeeded", body)
		}
		if !strings.Contains(err.Error(), ":") {
			t.Errorf("error does not say where: %v", err)
		}
	}
	if _, err := l.Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing file loaded")
	}
	if !l.BlockedURL("https://evil.example/") || l.BlockedURL("https://ok.example/") || l.Len() != 1 {
		t.Fatal("a failed reload changed the list")
	}
}
