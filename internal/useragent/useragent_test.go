package useragent

import "testing"

func TestClassify(t *testing.T) {
	type want struct {
		device, browser, os string
		bot                 bool
	}
	tests := map[string]struct {
		ua   string
		want want
	}{
		"empty": {"", want{"other", "other", "other", false}},
		"chrome windows": {
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			want{"desktop", "chrome", "windows", false}},
		"chrome macos": {
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			want{"desktop", "chrome", "macos", false}},
		"chrome linux": {
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			want{"desktop", "chrome", "linux", false}},
		"chrome chromeos": {
			"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			want{"desktop", "chrome", "chromeos", false}},
		"chrome android phone": {
			"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
			want{"mobile", "chrome", "android", false}},
		"chrome android tablet": {
			"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			want{"tablet", "chrome", "android", false}},
		"chrome ios": {
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
			want{"mobile", "chrome", "ios", false}},
		"android webview": {
			"Mozilla/5.0 (Linux; Android 12; Pixel 6 Build/SQ3A.220705.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36",
			want{"mobile", "chrome", "android", false}},
		"brave counts as chrome": {
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Brave/124",
			want{"desktop", "chrome", "windows", false}},
		"firefox windows": {
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
			want{"desktop", "firefox", "windows", false}},
		"firefox macos": {
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
			want{"desktop", "firefox", "macos", false}},
		"firefox linux": {
			"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
			want{"desktop", "firefox", "linux", false}},
		"firefox android": {
			"Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
			want{"mobile", "firefox", "android", false}},
		"firefox android tablet": {
			"Mozilla/5.0 (Android 4.4; Tablet; rv:41.0) Gecko/41.0 Firefox/41.0",
			want{"tablet", "firefox", "android", false}},
		"firefox ios": {
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15",
			want{"mobile", "firefox", "ios", false}},
		"safari macos": {
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
			want{"desktop", "safari", "macos", false}},
		"safari iphone": {
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
			want{"mobile", "safari", "ios", false}},
		"safari ipad": {
			"Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
			want{"tablet", "safari", "ios", false}},
		"safari ipod": {
			"Mozilla/5.0 (iPod touch; CPU iPhone OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1",
			want{"mobile", "safari", "ios", false}},
		"facebook in-app ios": {
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/458.0.0.36.108;FBBV/577000000;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.3.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
			want{"mobile", "other", "ios", false}},
		"edge windows": {
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
			want{"desktop", "edge", "windows", false}},
		"edge legacy": {
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582",
			want{"desktop", "edge", "windows", false}},
		"edge android": {
			"Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36 EdgA/124.0.2478.64",
			want{"mobile", "edge", "android", false}},
		"edge ios": {
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/124.2478.71 Mobile/15E148 Safari/605.1.15",
			want{"mobile", "edge", "ios", false}},
		"opera windows": {
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/110.0.0.0",
			want{"desktop", "opera", "windows", false}},
		"opera mini": {
			"Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54",
			want{"mobile", "opera", "other", false}},
		"opera presto linux": {
			"Opera/9.80 (X11; Linux x86_64) Presto/2.12.388 Version/12.16",
			want{"desktop", "opera", "linux", false}},
		"samsung internet phone": {
			"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
			want{"mobile", "samsung", "android", false}},
		"samsung internet tablet": {
			"Mozilla/5.0 (Linux; Android 12; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/18.0 Chrome/99.0.4844.88 Safari/537.36",
			want{"tablet", "samsung", "android", false}},
		"ie11": {
			"Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
			want{"desktop", "ie", "windows", false}},
		"ie9": {
			"Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)",
			want{"desktop", "ie", "windows", false}},
		"windows phone": {
			"Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
			want{"mobile", "edge", "windows", false}},
		"kindle silk": {
			"Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/537.36 (KHTML, like Gecko) Silk/3.68 like Chrome/39.0.2171.93 Safari/537.36",
			want{"tablet", "chrome", "android", false}},
		"cubot phone is not a bot": {
			"Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
			want{"mobile", "chrome", "android", false}},
		"kaios": {
			"Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i;Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
			want{"mobile", "firefox", "android", false}},
		"unknown token": {"SomeApp/1.0", want{"other", "other", "other", false}},

		"googlebot": {
			"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			want{"bot", "bot", "other", true}},
		"googlebot smartphone": {
			"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.118 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			want{"bot", "bot", "other", true}},
		"bingbot": {
			"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
			want{"bot", "bot", "other", true}},
		"yandex": {
			"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
			want{"bot", "bot", "other", true}},
		"baiduspider": {
			"Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
			want{"bot", "bot", "other", true}},
		"generic crawler": {"ExampleCRAWLER/1.0 (+https://example.com)", want{"bot", "bot", "other", true}},
		"yahoo slurp": {
			"Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
			want{"bot", "bot", "other", true}},
		"curl":            {"curl/8.5.0", want{"bot", "bot", "other", true}},
		"wget":            {"Wget/1.21.3", want{"bot", "bot", "other", true}},
		"python-requests": {"python-requests/2.31.0", want{"bot", "bot", "other", true}},
		"go client":       {"Go-http-client/1.1", want{"bot", "bot", "other", true}},
		"headless chrome": {
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
			want{"bot", "bot", "other", true}},
		"facebook": {
			"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
			want{"bot", "bot", "other", true}},
		"twitterbot": {"Twitterbot/1.0", want{"bot", "bot", "other", true}},
		"slackbot": {
			"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
			want{"bot", "bot", "other", true}},
		"discordbot": {
			"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
			want{"bot", "bot", "other", true}},
		"gptbot": {
			"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)",
			want{"bot", "bot", "other", true}},
		"lighthouse": {
			"Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
			want{"bot", "bot", "other", true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := Classify([]byte(tc.ua))
			got := want{DeviceName(c.Device), BrowserName(c.Browser), OSName(c.OS), c.Bot}
			if got != tc.want {
				t.Errorf("Classify(%q) = %+v, want %+v", tc.ua, got, tc.want)
			}
		})
	}
}

func TestClass_Pack_roundTrip(t *testing.T) {
	countries := [][2]byte{{}, {'U', 'S'}, {'d', 'e'}, {'Z', 'Z'}, {'A', 'A'}}
	for d := DeviceOther; d <= DeviceBot; d++ {
		for b := BrowserOther; b <= BrowserBot; b++ {
			for o := OSOther; o <= OSChromeOS; o++ {
				for _, bot := range []bool{false, true} {
					for _, cc := range countries {
						c := Class{Device: d, Browser: b, OS: o, Bot: bot}
						dims := c.Pack(cc)
						if got := UnpackClass(dims); got != c {
							t.Fatalf("UnpackClass(Pack(%+v)) = %+v", c, got)
						}
						dev, br, os, country, gotBot := Unpack(dims)
						wantCountry := ""
						if cc != ([2]byte{}) {
							wantCountry = string([]byte{upperLetter(cc[0]), upperLetter(cc[1])})
						}
						if dev != DeviceName(d) || br != BrowserName(b) || os != OSName(o) || country != wantCountry || gotBot != bot {
							t.Fatalf("Unpack(Pack(%+v, %q)) = %q %q %q %q %v", c, cc, dev, br, os, country, gotBot)
						}
					}
				}
			}
		}
	}
}

func TestClass_Pack_zero(t *testing.T) {
	if got := (Class{}).Pack([2]byte{}); got != 0 {
		t.Fatalf("zero class packs to %#x, want 0", got)
	}
	dev, br, os, country, bot := Unpack(0)
	if dev != "other" || br != "other" || os != "other" || country != "" || bot {
		t.Fatalf("Unpack(0) = %q %q %q %q %v", dev, br, os, country, bot)
	}
}

func TestClass_Pack_badCountry(t *testing.T) {
	for _, cc := range [][2]byte{{'U', 0}, {'1', '2'}, {'-', '-'}, {0xc3, 0xa9}} {
		if got := Country((Class{}).Pack(cc)); got != ([2]byte{}) {
			t.Errorf("Pack(%q) kept country %q, want unknown", cc, got)
		}
	}
}

func TestUnpack_outOfRange(t *testing.T) {
	dev, br, os, _, _ := Unpack(0xfff)
	if dev != "other" || br != "other" || os != "other" {
		t.Fatalf("Unpack(0xfff) = %q %q %q, want other", dev, br, os)
	}
}

func TestNames_stable(t *testing.T) {
	// These strings are stored in ClickHouse: changing one is a data migration.
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("name %q, want %q", got, want)
		}
	}
	f(DeviceName(DeviceDesktop), "desktop")
	f(DeviceName(DeviceMobile), "mobile")
	f(DeviceName(DeviceTablet), "tablet")
	f(DeviceName(DeviceBot), "bot")
	f(DeviceName(DeviceOther), "other")
	f(BrowserName(BrowserChrome), "chrome")
	f(BrowserName(BrowserFirefox), "firefox")
	f(BrowserName(BrowserSafari), "safari")
	f(BrowserName(BrowserEdge), "edge")
	f(BrowserName(BrowserOpera), "opera")
	f(BrowserName(BrowserSamsung), "samsung")
	f(BrowserName(BrowserIE), "ie")
	f(BrowserName(BrowserBot), "bot")
	f(BrowserName(BrowserOther), "other")
	f(OSName(OSWindows), "windows")
	f(OSName(OSMacOS), "macos")
	f(OSName(OSIOS), "ios")
	f(OSName(OSAndroid), "android")
	f(OSName(OSLinux), "linux")
	f(OSName(OSChromeOS), "chromeos")
	f(OSName(OSOther), "other")
}

var allocUAs = [][]byte{
	[]byte("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80"),
	[]byte("Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"),
	[]byte("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
	[]byte("curl/8.5.0"),
	nil,
}

func TestClassify_allocs(t *testing.T) {
	var sink uint32
	n := testing.AllocsPerRun(100, func() {
		for _, ua := range allocUAs {
			sink += Classify(ua).Pack([2]byte{'u', 's'})
		}
	})
	if n != 0 {
		t.Fatalf("Classify+Pack allocate %v times per run, want 0", n)
	}
	n = testing.AllocsPerRun(100, func() {
		_, _, _, c, _ := Unpack(sink | 0x53550000)
		_ = c
	})
	if n != 0 {
		t.Fatalf("Unpack allocates %v times per run, want 0", n)
	}
}
