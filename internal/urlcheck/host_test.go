package urlcheck

import "testing"

// TestParseHost: hosts as the URL standard's host parser reads them (the
// expectations are what browsers show in the address bar).
func TestParseHost(t *testing.T) {
	f := func(raw, want string) {
		t.Helper()
		h, err := ParseHost(raw)
		if want == "" {
			if err == nil {
				t.Errorf("ParseHost(%q) = %q, want an error", raw, h.Name)
			}
			return
		}
		if err != nil || h.Name != want {
			t.Errorf("ParseHost(%q) = %q, %v; want %q", raw, h.Name, err, want)
		}
	}
	f("example.com", "example.com")
	f("EXAMPLE.com.", "example.com.")
	f("%D0%B0pple.com", "xn--pple-43d.com")
	f("%EF%BD%85vil.com", "evil.com")
	f("%EF%BD%8C%EF%BD%8F%EF%BD%83%EF%BD%81%EF%BD%8C%EF%BD%88%EF%BD%8F%EF%BD%93%EF%BD%94", "localhost")
	f("127%E3%80%820%E3%80%820%E3%80%821", "127.0.0.1")
	f("%EF%BC%91%EF%BC%92%EF%BC%97.1", "127.0.0.1") // fullwidth digits
	f("127.1", "127.0.0.1")
	f("127.0.1", "127.0.0.1")
	f("2130706433", "127.0.0.1")
	f("0x7f.1", "127.0.0.1")
	f("0X7F.0.0.1", "127.0.0.1")
	f("017700000001", "127.0.0.1")
	f("0x7f000001", "127.0.0.1")
	f("0x", "0.0.0.0")
	f("0", "0.0.0.0")
	f("255.255.255.255", "255.255.255.255")
	f("1.2.3.0x", "1.2.3.0")
	f("4294967295", "255.255.255.255")
	f("4294967296", "")
	f("1.16777216", "")
	f("1.2.65536", "")
	f("1.2.3.4.5", "")
	f("08", "")
	f("0x1g", "0x1g") // not a number: a domain
	f("1.2.3.a", "1.2.3.a")
	f("a.0x", "")
	f("[::1]", "[::1]")
	f("[0:0:0:0:0:0:0:1]", "[::1]")
	f("[::ffff:127.0.0.1]", "[::ffff:7f00:1]")
	f("[2001:db8:0:0:1:0:0:1]", "[2001:db8::1:0:0:1]")
	f("[2001:0:0:1:0:0:0:1]", "[2001:0:0:1::1]")
	f("[1:0:1:0:1:0:1:0]", "[1:0:1:0:1:0:1:0]")
	f("[::]", "[::]")
	f("[fe80::1%25eth0]", "")
	f("[fe80::1", "")
	f("[1.2.3.4]", "")
	f("", "")
	f(".", "")
	f(".a", "")
	f("a..b", "")
	f("ex<ample>.com", "")
	f("a^b", "")
	f("a|b", "")
	f("%2500", "")
	f("%", "")
	f("%4", "")
	f("a%20b", "")
	f("%C0%AF", "") // overlong: not UTF-8
	f("xn--a", "")
	f("xn--pple-43d.com", "xn--pple-43d.com")
}
