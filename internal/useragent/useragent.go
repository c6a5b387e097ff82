package useragent

import "bytes"

// Device classes.
const (
	DeviceOther uint8 = iota
	DeviceDesktop
	DeviceMobile
	DeviceTablet
	DeviceBot
)

// Browser families.
const (
	BrowserOther uint8 = iota
	BrowserChrome
	BrowserFirefox
	BrowserSafari
	BrowserEdge
	BrowserOpera
	BrowserSamsung
	BrowserIE
	BrowserBot
)

// OS families.
const (
	OSOther uint8 = iota
	OSWindows
	OSMacOS
	OSIOS
	OSAndroid
	OSLinux
	OSChromeOS
)

// Class is a classified user agent; the zero value is "other" everywhere.
type Class struct {
	Device, Browser, OS uint8
	Bot                 bool
}

// botClass is what every bot classifies as.
var botClass = Class{Device: DeviceBot, Browser: BrowserBot, OS: OSOther, Bot: true}

// Classify classifies ua. It never allocates and never retains ua.
func Classify(ua []byte) Class {
	if len(ua) == 0 {
		return Class{}
	}
	if !bytes.HasPrefix(ua, tokMozilla) && hasBotPrefix(ua) {
		return botClass
	}
	f := scan(ua)
	if f&fBot != 0 {
		return botClass
	}
	os := osOf(f)
	return Class{Device: deviceOf(f, os), Browser: browserOf(f, os), OS: os}
}

var tokMozilla = []byte("Mozilla/")

// botPrefixes mark a scripted client or a preview fetcher when a UA that
// does not start with "Mozilla/" starts with them.
var botPrefixes = [...]string{
	"curl/",
	"Wget/",
	"python-requests/",
	"Python-urllib/",
	"python-httpx/",
	"aiohttp/",
	"Go-http-client/",
	"Java/",
	"Apache-HttpClient/",
	"axios/",
	"node-fetch",
	"undici",
	"libwww-perl/",
	"Scrapy/",
	"PostmanRuntime/",
	"HTTPie/",
	"facebookexternalhit/",
	"facebookcatalog/",
	"WhatsApp/",
	"ia_archiver",
}

func hasBotPrefix(ua []byte) bool {
	for _, p := range &botPrefixes {
		if has(ua, p) {
			return true
		}
	}
	return false
}

// Flags set by scan, one per token seen.
const (
	fWindows uint32 = 1 << iota
	fWinPhone
	fIPhone // iPhone or iPod
	fIPad
	fAndroid
	fCrOS
	fMac
	fLinux
	fMobile
	fTablet // Tablet, Kindle, Silk/
	fEdge
	fOpera
	fSamsung
	fFirefox
	fChrome
	fIE
	fSafari
	fBot
)

// scan makes one pass over ua and returns the flags of the tokens it
// contains; it stops at the first bot marker. Tokens are case-sensitive
// except "bot", "crawler" and "spider". Matching is by first byte, then a
// prefix compare; string(b) == s does not allocate.
func scan(ua []byte) (f uint32) {
	n := len(ua)
	for i := 0; i < n; i++ {
		c := ua[i]
		if !interesting[c] {
			continue
		}
		r := ua[i:]
		switch c {
		case 'A':
			if has(r, "Android") {
				f |= fAndroid
			}
		case 'C':
			switch {
			case has(r, "Chrome/"), has(r, "CriOS/"):
				f |= fChrome
			case has(r, "CrOS"):
				f |= fCrOS
			case hasFold(r, "crawler"):
				return fBot
			}
		case 'E':
			switch {
			case has(r, "Edg"): // Edg/, Edge/, EdgA/, EdgiOS/
				f |= fEdge
			case has(r, "Embedly"):
				return fBot
			}
		case 'F':
			if has(r, "Firefox/") || has(r, "FxiOS/") {
				f |= fFirefox
			}
		case 'G':
			if has(r, "Google-InspectionTool") {
				return fBot
			}
		case 'H':
			if has(r, "HeadlessChrome") {
				return fBot
			}
		case 'K':
			if has(r, "Kindle") {
				f |= fTablet
			}
		case 'L':
			switch {
			case has(r, "Linux"):
				f |= fLinux
			case has(r, "Lighthouse"):
				return fBot
			}
		case 'M':
			switch {
			case has(r, "Mobi"): // Mobile, Opera Mobi
				f |= fMobile
			case has(r, "Macintosh"), has(r, "Mac OS X"):
				f |= fMac
			case has(r, "MSIE "):
				f |= fIE
			case has(r, "Mediapartners-Google"):
				return fBot
			}
		case 'O':
			switch {
			case has(r, "OPR/"), has(r, "OPiOS/"):
				f |= fOpera
			case has(r, "Opera"):
				f |= fOpera
				if has(r[5:], " Mini") {
					f |= fMobile
				}
			}
		case 'P':
			if has(r, "PhantomJS") {
				return fBot
			}
		case 'S':
			switch {
			case has(r, "Safari/"):
				f |= fSafari
			case has(r, "SamsungBrowser"):
				f |= fSamsung
			case has(r, "Silk/"):
				f |= fTablet
			case has(r, "Slurp"):
				return fBot
			case hasFold(r, "spider"):
				return fBot
			}
		case 'T':
			switch {
			case has(r, "Trident/"):
				f |= fIE
			case has(r, "Tablet"):
				f |= fTablet
			}
		case 'W':
			if has(r, "Windows") {
				f |= fWindows
				if has(r[7:], " Phone") {
					f |= fWinPhone
				}
			}
		case 'X':
			if has(r, "X11") {
				f |= fLinux
			}
		case 'f':
			if has(r, "facebookexternalhit") {
				return fBot
			}
		case 'i':
			switch {
			case has(r, "iPhone"), has(r, "iPod"):
				f |= fIPhone
			case has(r, "iPad"):
				f |= fIPad
			}
		case 'b', 'B':
			// "bot" in any case, but not the phone brand "Cubot".
			if hasFold(r, "bot") && !(i >= 2 && ua[i-2]|0x20 == 'c' && ua[i-1]|0x20 == 'u') {
				return fBot
			}
		case 'c':
			if hasFold(r, "crawler") {
				return fBot
			}
		case 's':
			if hasFold(r, "spider") {
				return fBot
			}
		}
	}
	return f
}

// interesting marks the bytes that can start a token scan looks for.
var interesting = func() (t [256]bool) {
	for _, c := range []byte("ACEFGHKLMOPSTWXfibBcs") {
		t[c] = true
	}
	return t
}()

// has reports whether b starts with s.
func has(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// hasFold reports whether b starts with the lower-case ASCII word s in any
// letter case. b|0x20 lower-cases an ASCII letter and maps no other byte
// onto a lower-case letter.
func hasFold(b []byte, s string) bool {
	if len(b) < len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b[i]|0x20 != s[i] {
			return false
		}
	}
	return true
}

// osOf picks the OS; order matters: Windows Phone says Android, iOS says
// "like Mac OS X", Android and ChromeOS say Linux or X11.
func osOf(f uint32) uint8 {
	switch {
	case f&fWindows != 0:
		return OSWindows
	case f&(fIPhone|fIPad) != 0:
		return OSIOS
	case f&fAndroid != 0:
		return OSAndroid
	case f&fCrOS != 0:
		return OSChromeOS
	case f&fMac != 0:
		return OSMacOS
	case f&fLinux != 0:
		return OSLinux
	}
	return OSOther
}

func deviceOf(f uint32, os uint8) uint8 {
	switch os {
	case OSIOS:
		if f&fIPad != 0 {
			return DeviceTablet
		}
		return DeviceMobile
	case OSAndroid:
		if f&fMobile != 0 {
			return DeviceMobile
		}
		return DeviceTablet
	case OSWindows:
		if f&fWinPhone != 0 {
			return DeviceMobile
		}
		return DeviceDesktop
	case OSMacOS, OSChromeOS:
		return DeviceDesktop
	}
	// Linux or unknown: tablets and phones that do not say Android
	// (Kindle/Silk, Firefox OS, Opera Mini) before the desktop default.
	switch {
	case f&fTablet != 0:
		return DeviceTablet
	case f&fMobile != 0:
		return DeviceMobile
	case os == OSLinux:
		return DeviceDesktop
	}
	return DeviceOther
}

// browserOf picks the browser; order matters: Edge, Opera and Samsung
// Internet say Chrome, and Chrome says Safari.
func browserOf(f uint32, os uint8) uint8 {
	switch {
	case f&fEdge != 0:
		return BrowserEdge
	case f&fOpera != 0:
		return BrowserOpera
	case f&fSamsung != 0:
		return BrowserSamsung
	case f&fFirefox != 0:
		return BrowserFirefox
	case f&fChrome != 0:
		return BrowserChrome
	case f&fIE != 0:
		return BrowserIE
	case f&fSafari != 0 && (os == OSIOS || os == OSMacOS):
		return BrowserSafari
	}
	return BrowserOther
}
