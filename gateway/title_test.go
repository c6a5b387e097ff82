package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// TestCheckTitle: titles with bidi controls or zero-width characters are
// refused, and the error names the character at its character position.
func TestCheckTitle(t *testing.T) {
	ok := []string{"", "Sale", "Распродажа", "セール", "مرحبا بالعالم", "a\u00a0b", "😀 emoji"}
	for _, title := range ok {
		if err := checkTitle(title); err != nil {
			t.Errorf("checkTitle(%q) = %v", title, err)
		}
	}
	bad := map[string]string{
		"е\u0007":               "control character (U+0007) at character 2",
		"Invoice \u202efdp.exe": "U+202E RIGHT-TO-LEFT OVERRIDE at character 9",
		"a\u2066b\u2069":        "U+2066 LEFT-TO-RIGHT ISOLATE at character 2",
		"pay\u200bpal":          "U+200B ZERO WIDTH SPACE at character 4",
		"\ufeffx":               "U+FEFF ZERO WIDTH NO-BREAK SPACE at character 1",
		"ёж\u200d":              "U+200D ZERO WIDTH JOINER at character 3",
		"x\u200fy":              "U+200F RIGHT-TO-LEFT MARK at character 2",
		"soft\u00adhyphen":      "U+00AD SOFT HYPHEN at character 5",
	}
	for title, msg := range bad {
		err := checkTitle(title)
		if err == nil {
			t.Errorf("checkTitle(%q) = nil, want %q", title, msg)
			continue
		}
		e, _ := err.(*Error)
		if e == nil || e.Status != http.StatusUnprocessableEntity || !strings.Contains(e.Message, msg) {
			t.Errorf("checkTitle(%q) = %v, want a 422 saying %q", title, err, msg)
		}
	}
	// Through an API: a custom code with a Cyrillic е names it.
	e := newAPIEnv(t)
	e.do("POST", "/api/v1/links", map[string]any{"url": "https://example.com", "code": "tеst"}).
		wantError(t, http.StatusUnprocessableEntity, "invalid_code", "'е' (U+0435) at position 2")
	e.do("POST", "/api/v1/links", map[string]any{"url": "https://example.com", "title": "Invoice \u202efdp.exe"}).
		wantError(t, http.StatusUnprocessableEntity, "invalid_title", "RIGHT-TO-LEFT OVERRIDE")
}
