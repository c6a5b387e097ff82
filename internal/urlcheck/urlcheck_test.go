package urlcheck

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	self := func(h string) bool {
		switch h {
		case "mb.example", "localhost:8080", "127.0.0.1:8080":
			return true
		}
		return false
	}
	long := "https://example.com/" + strings.Repeat("a", MaxLength-len("https://example.com/"))
	tests := map[string]struct {
		url     string
		wantErr string // substring; "" = valid
	}{
		"https":              {url: "https://example.com", wantErr: ""},
		"http with path":     {url: "http://example.com/a/b?c=d&e=f#frag", wantErr: ""},
		"upper scheme":       {url: "HTTPS://Example.COM/x", wantErr: ""},
		"port":               {url: "https://example.com:8443/", wantErr: ""},
		"ipv4":               {url: "http://192.0.2.1/", wantErr: ""},
		"ipv6":               {url: "http://[2001:db8::1]:8080/", wantErr: ""},
		"percent encoded":    {url: "https://example.com/caf%C3%A9?q=a%20b", wantErr: ""},
		"exactly max":        {url: long, wantErr: ""},
		"other port on self": {url: "http://localhost:9090/", wantErr: ""},
		"empty":              {url: "", wantErr: "empty"},
		"too long":           {url: long + "a", wantErr: "maximum is 8192"},
		"relative":           {url: "/foo/bar", wantErr: "not absolute"},
		"no scheme":          {url: "example.com/foo", wantErr: "not absolute"},
		"ftp":                {url: "ftp://example.com/file", wantErr: `scheme "ftp"`},
		"javascript":         {url: "javascript:alert(1)", wantErr: `scheme "javascript"`},
		"data":               {url: "data:text/html,hi", wantErr: `scheme "data"`},
		"opaque":             {url: "http:example.com", wantErr: "form http://host/path"},
		"single slash":       {url: "http:/example.com", wantErr: "form http://host/path"},
		"no host":            {url: "http:///path", wantErr: "no host"},
		"empty port":         {url: "http://example.com:/", wantErr: "empty port"},
		"port zero":          {url: "http://example.com:0/", wantErr: "out of range"},
		"port too big":       {url: "http://example.com:70000/", wantErr: "out of range"},
		"bad port":           {url: "http://example.com:ab/", wantErr: "invalid port"},
		"space":              {url: "https://example.com/a b", wantErr: "space at byte 22"},
		"tab":                {url: "https://example.com/\tb", wantErr: "control character (0x09)"},
		"newline":            {url: "https://example.com/\r\nSet-Cookie: a", wantErr: "control character (0x0d)"},
		"nul":                {url: "https://example.com/\x00", wantErr: "control character (0x00)"},
		"del":                {url: "https://example.com/\x7f", wantErr: "control character (0x7f)"},
		"non-ascii":          {url: "https://example.com/café", wantErr: "non-ASCII"},
		"userinfo":           {url: "https://user:pw@example.com/", wantErr: "user information"},
		"phishing userinfo":  {url: "https://bank.example@evil.example/", wantErr: "user information"},
		"bad escape":         {url: "https://example.com/%zz", wantErr: "invalid URL escape"},
		"leading dot host":   {url: "https://.example.com/", wantErr: "not a valid host name"},
		"double dot host":    {url: "https://example..com/", wantErr: "not a valid host name"},
		"self host":          {url: "https://mb.example/abc", wantErr: "points at this service"},
		"self host case":     {url: "https://MB.Example/abc", wantErr: "points at this service"},
		"self host dot":      {url: "https://mb.example./abc", wantErr: "points at this service"},
		"self host port":     {url: "https://mb.example:443/abc", wantErr: "points at this service"},
		"self host:port":     {url: "http://localhost:8080/abc", wantErr: "points at this service"},
		"self ip:port":       {url: "http://127.0.0.1:8080/", wantErr: "points at this service"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := Check(tc.url, self)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tc.url, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check(%q) = nil, want error containing %q", tc.url, tc.wantErr)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Check(%q) = %v, not ErrInvalid", tc.url, err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Check(%q) = %q, want it to contain %q", tc.url, err, tc.wantErr)
			}
		})
	}
}

func TestCheck_NilIsSelf(t *testing.T) {
	if err := Check("https://mb.example/", nil); err != nil {
		t.Fatalf("Check with nil isSelf = %v", err)
	}
}
