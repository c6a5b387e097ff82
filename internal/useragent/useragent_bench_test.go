package useragent

import "testing"

var benchUAs = map[string][]byte{
	"chrome-windows": []byte("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"),
	"safari-iphone":  []byte("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"),
	"chrome-android": []byte("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"),
	"googlebot":      []byte("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
	"curl":           []byte("curl/8.5.0"),
}

var benchSink Class

func BenchmarkClassify(b *testing.B) {
	for _, name := range []string{"chrome-windows", "safari-iphone", "chrome-android", "googlebot", "curl"} {
		ua := benchUAs[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(ua)))
			for b.Loop() {
				benchSink = Classify(ua)
			}
		})
	}
}

var packSink uint32

func BenchmarkClass_Pack(b *testing.B) {
	b.ReportAllocs()
	c := Class{Device: DeviceMobile, Browser: BrowserSafari, OS: OSIOS}
	for b.Loop() {
		packSink = c.Pack([2]byte{'D', 'E'})
	}
}
