package urlcheck

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// testSelf is this service at mb.example (any port) and on port 8080 of
// every loopback address.
func testSelf(h string, port int) bool {
	if h == "mb.example" {
		return true
	}
	if port != 8080 {
		return false
	}
	a, err := netip.ParseAddr(strings.Trim(h, "[]"))
	return h == "localhost" || err == nil && a.IsLoopback()
}

func TestCanonical(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", MaxLength-len("https://example.com/"))
	tests := map[string]struct {
		url     string
		private bool   // Policy.AllowPrivate
		want    string // the canonical form when valid; "" = url itself
		wantErr string // substring; "" = valid
	}{
		"https":              {url: "https://example.com"},
		"http with path":     {url: "http://example.com/a/b?c=d&e=f#frag"},
		"upper scheme":       {url: "HTTPS://Example.COM/x", want: "https://example.com/x"},
		"port":               {url: "https://example.com:8443/"},
		"default port":       {url: "https://example.com:443/x", want: "https://example.com/x"},
		"leading zero port":  {url: "http://example.com:0080/x", want: "http://example.com/x"},
		"ipv4":               {url: "http://192.0.2.1/"},
		"ipv6":               {url: "http://[2001:db8::1]:8080/"},
		"ipv6 canonical":     {url: "http://[2001:DB8:0:0:0:0:0:1]/", want: "http://[2001:db8::1]/"},
		"percent encoded":    {url: "https://example.com/caf%C3%A9?q=a%20b"},
		"exactly max":        {url: long},
		"other port on self": {url: "http://localhost:9090/", private: true},
		"trailing dot kept":  {url: "https://example.com./x"},
		"underscore":         {url: "https://my_host.example.com/"},
		"punycode":           {url: "https://xn--bcher-kva.example/"},
		"long hyphens":       {url: "https://r3---sn-apo3qvuoxuxbt-j5pe.example/"},
		"backslash in query": {url: `https://example.com/p?q=a\b`},
		// Hosts as a browser reads them.
		"cyrillic a":        {url: "https://%D0%B0pple.com/", want: "https://xn--pple-43d.com/"},
		"fullwidth e":       {url: "https://%EF%BD%85vil.com/", want: "https://evil.com/"},
		"ascii escape":      {url: "https://%65xample.com/", want: "https://example.com/"},
		"fullwidth upper":   {url: "https://%EF%BC%A5XAMPLE.com/", want: "https://example.com/"},
		"ideographic dots":  {url: "https://example%E3%80%82com/", want: "https://example.com/"},
		"eszett":            {url: "https://fa%C3%9F.de/", want: "https://xn--fa-hia.de/"},
		"zero width mapped": {url: "https://ex%E2%80%8Bample.com/", want: "https://example.com/"},
		"ipv4 short":        {url: "http://192.0.2:80/", want: "http://192.0.0.2/"},
		"ipv4 decimal":      {url: "http://3221225985/", want: "http://192.0.2.1/"},
		"ipv4 hex":          {url: "http://0xc0.0.2.1/", want: "http://192.0.2.1/"},
		"ipv4 octal":        {url: "http://0300.0.2.1/", want: "http://192.0.2.1/"},
		"ipv4 trailing dot": {url: "http://192.0.2.1./", want: "http://192.0.2.1/"},
		"ipv4 mapped":       {url: "http://[::ffff:192.0.2.1]/", want: "http://[::ffff:c000:201]/"},
		"empty":             {url: "", wantErr: "empty"},
		"too long":          {url: long + "a", wantErr: "maximum is 8192"},
		"relative":          {url: "/foo/bar", wantErr: "not absolute"},
		"no scheme":         {url: "example.com/foo", wantErr: "not absolute"},
		"ftp":               {url: "ftp://example.com/file", wantErr: `scheme "ftp"`},
		"javascript":        {url: "javascript:alert(1)", wantErr: `scheme "javascript"`},
		"data":              {url: "data:text/html,hi", wantErr: `scheme "data"`},
		"opaque":            {url: "http:example.com", wantErr: "form http://host/path"},
		"single slash":      {url: "http:/example.com", wantErr: "form http://host/path"},
		"no host":           {url: "http:///path", wantErr: "no host"},
		"empty port":        {url: "http://example.com:/", wantErr: "empty port"},
		"port zero":         {url: "http://example.com:0/", wantErr: "out of range"},
		"port too big":      {url: "http://example.com:70000/", wantErr: "out of range"},
		"bad port":          {url: "http://example.com:ab/", wantErr: "invalid port"},
		"two colons":        {url: "http://a:b:80/", wantErr: "invalid port"},
		"space":             {url: "https://example.com/a b", wantErr: "space at byte 22"},
		"tab":               {url: "https://example.com/\tb", wantErr: "control character (0x09)"},
		"newline":           {url: "https://example.com/\r\nSet-Cookie: a", wantErr: "control character (0x0d)"},
		"nul":               {url: "https://example.com/\x00", wantErr: "control character (0x00)"},
		"del":               {url: "https://example.com/\x7f", wantErr: "control character (0x7f)"},
		"non-ascii":         {url: "https://example.com/café", wantErr: "non-ASCII"},
		"non-ascii named":   {url: "https://exаmple.com/", wantErr: `character 'а' (U+0430) at byte 11`},
		"not utf-8":         {url: "https://example.com/\xff", wantErr: "not UTF-8 (0xff)"},
		"userinfo":          {url: "https://user:pw@example.com/", wantErr: "user information"},
		"phishing userinfo": {url: "https://bank.example@evil.example/", wantErr: "user information"},
		"backslash host":    {url: `https://evil.example\@bank.example/`, wantErr: "backslash"},
		"backslash path":    {url: `https://example.com/a\b`, wantErr: "backslash"},
		"bad escape":        {url: "https://example.com/%zz", wantErr: "invalid URL escape"},
		"leading dot host":  {url: "https://.example.com/", wantErr: "not a valid host name"},
		"double dot host":   {url: "https://example..com/", wantErr: "not a valid host name"},
		"angle brackets":    {url: "https://ex<ample>.com/", wantErr: `contains '<'`},
		"escaped percent":   {url: "https://%2500/", wantErr: `contains '%'`},
		"escaped slash":     {url: "https://a%2Fb.com/", wantErr: `contains '/'`},
		"fullwidth slash":   {url: "https://a%EF%BC%8Fb.com/", wantErr: `contains '/'`},
		"escaped nul":       {url: "https://a%00b.com/", wantErr: "not a valid host name"},
		"lone percent":      {url: "https://a%zb.com/", wantErr: "not a valid host name"},
		"escaped not utf-8": {url: "https://a%FFb.com/", wantErr: "not UTF-8"},
		"bidi host":         {url: "https://%E2%80%AEevil.com/", wantErr: "not a valid host name"},
		"bad punycode":      {url: "https://xn--abc.com/", wantErr: "not a valid host name"},
		"ipv6 zone":         {url: "http://[fe80::1%25eth0]/", wantErr: "zone id"},
		"ipv4 in brackets":  {url: "http://[192.0.2.1]/", wantErr: "not an IPv6 address"},
		"ipv4 five parts":   {url: "http://1.2.3.4.5/", wantErr: "not an IPv4 address"},
		"ipv4 part too big": {url: "http://256.0.0.1/", wantErr: "not an IPv4 address"},
		"ipv4 too big":      {url: "http://4294967296/", wantErr: "not an IPv4 address"},
		"ipv4 bad octal":    {url: "http://09.1/", wantErr: "not an IPv4 address"},
		"brace host":        {url: "https://ex{ample}.com/", wantErr: "host"},
		// This service, in every spelling.
		"self host":          {url: "https://mb.example/abc", wantErr: "points at this service"},
		"self host case":     {url: "https://MB.Example/abc", wantErr: "points at this service"},
		"self host dot":      {url: "https://mb.example./abc", wantErr: "points at this service"},
		"self host port":     {url: "https://mb.example:443/abc", wantErr: "points at this service"},
		"self host fullwdth": {url: "https://%EF%BD%8D%EF%BD%82.example/", wantErr: "points at this service"},
		"self host:port":     {url: "http://localhost:8080/abc", wantErr: "points at this service"},
		"self ip:port":       {url: "http://127.0.0.1:8080/", wantErr: "points at this service"},
	}
	for _, private := range []bool{false, true} {
		for _, u := range []string{
			"http://127.1:8080/loop", "http://2130706433:8080/", "http://0x7f.1:8080/", "http://017700000001:8080/",
			"http://127.0.0.1.:8080/", "http://%EF%BD%8C%EF%BD%8F%EF%BD%83%EF%BD%81%EF%BD%8C%EF%BD%88%EF%BD%8F%EF%BD%93%EF%BD%94:8080/",
			"http://127%E3%80%820%E3%80%820%E3%80%821:8080/", "http://localhost.:8080/", "http://LOCALHOST:8080/",
			"http://app.localhost:8080/", "http://[::1]:8080/", "http://[::ffff:127.0.0.1]:8080/", "http://[0:0:0:0:0:0:0:1]:8080/",
		} {
			name := "self " + u
			if private {
				name += " private allowed"
			}
			tests[name] = struct {
				url     string
				private bool
				want    string
				wantErr string
			}{url: u, private: private, wantErr: "points at this service"}
		}
	}
	for u, why := range map[string]string{
		"http://127.0.0.1/": "loopback", "http://127.1/": "loopback", "http://0x7f000001/": "loopback",
		"http://[::1]/": "loopback", "http://[::ffff:7f00:1]/": "loopback", "http://localhost/": "localhost",
		"http://%EF%BD%8C%EF%BD%8F%EF%BD%83%EF%BD%81%EF%BD%8C%EF%BD%88%EF%BD%8F%EF%BD%93%EF%BD%94/": "localhost",
		"http://a.b.localhost./": "localhost", "http://10.1.2.3/": "private network", "http://172.16.0.1/": "private network",
		"http://192.168.1.1/": "private network", "http://169.254.169.254/latest/meta-data/": "link-local",
		"http://2852039166/": "link-local", "http://[fe80::1]/": "link-local", "http://[fd00::1]/": "unique-local",
		"http://0.0.0.0/": "this host", "http://0/": "this host", "http://0.1.2.3/": "this host", "http://[::]/": "this host",
		"http://metadata.google.internal/computeMetadata/v1/": "cloud metadata service", "http://100.64.0.1/": "shared address space",
	} {
		tests["private "+u] = struct {
			url     string
			private bool
			want    string
			wantErr string
		}{url: u, wantErr: ": " + why + "); this server does not shorten"}
		tests["private allowed "+u] = struct {
			url     string
			private bool
			want    string
			wantErr string
		}{url: u, private: true, want: "*", wantErr: ""}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Canonical(tc.url, Policy{IsSelf: testSelf, AllowPrivate: tc.private})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Canonical(%q) = %v, want nil", tc.url, err)
				}
				want := tc.want
				if want == "" {
					want = tc.url
				}
				if want != "*" && got != want {
					t.Errorf("Canonical(%q) = %q, want %q", tc.url, got, want)
				}
				if again, err := Canonical(got, Policy{IsSelf: testSelf, AllowPrivate: tc.private}); err != nil || again != got {
					t.Errorf("Canonical(%q) = %q, %v; want it unchanged", got, again, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Canonical(%q) = %q, want error containing %q", tc.url, got, tc.wantErr)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Canonical(%q) = %v, not ErrInvalid", tc.url, err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Canonical(%q) = %q, want it to contain %q", tc.url, err, tc.wantErr)
			}
		})
	}
}

func TestCanonical_NilIsSelf(t *testing.T) {
	if _, err := Canonical("https://mb.example/", Policy{}); err != nil {
		t.Fatalf("Canonical with nil IsSelf = %v", err)
	}
}
