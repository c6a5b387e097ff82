package useragent

// Names of the dimension values, indexed by the constants. They are stored
// in ClickHouse and returned by the API: never rename one.
var (
	deviceNames  = [...]string{"other", "desktop", "mobile", "tablet", "bot"}
	browserNames = [...]string{"other", "chrome", "firefox", "safari", "edge", "opera", "samsung", "ie", "bot"}
	osNames      = [...]string{"other", "windows", "macos", "ios", "android", "linux", "chromeos"}
)

// countryNames holds "AA".."ZZ" so that Unpack returns a country without
// allocating.
var countryNames = func() (t [26 * 26]string) {
	for i := range t {
		t[i] = string([]byte{'A' + byte(i/26), 'A' + byte(i%26)})
	}
	return t
}()

const (
	shiftBrowser  = 4
	shiftOS       = 8
	bitBot        = 1 << 12
	shiftCountry0 = 16
	shiftCountry1 = 24
)

// Pack packs c and a two-letter country code into one word (layout in the
// package doc). The country is upper-cased; anything but two ASCII letters
// packs as unknown (0).
func (c Class) Pack(country [2]byte) uint32 {
	w := uint32(c.Device&0xf) | uint32(c.Browser&0xf)<<shiftBrowser | uint32(c.OS&0xf)<<shiftOS
	if c.Bot {
		w |= bitBot
	}
	a, b := upperLetter(country[0]), upperLetter(country[1])
	if a != 0 && b != 0 {
		w |= uint32(a)<<shiftCountry0 | uint32(b)<<shiftCountry1
	}
	return w
}

// UnpackClass returns the class packed in dims (the country is dropped).
func UnpackClass(dims uint32) Class {
	return Class{
		Device:  uint8(dims & 0xf),
		Browser: uint8(dims >> shiftBrowser & 0xf),
		OS:      uint8(dims >> shiftOS & 0xf),
		Bot:     dims&bitBot != 0,
	}
}

// Country returns the country packed in dims, zero when unknown.
func Country(dims uint32) [2]byte {
	return [2]byte{byte(dims >> shiftCountry0), byte(dims >> shiftCountry1)}
}

// Unpack returns the dimension names packed in dims by Pack: device,
// browser and os names from the package doc, the country as two upper-case
// letters or "" when unknown, and the bot flag. Values out of range read as
// "other". It does not allocate.
func Unpack(dims uint32) (device, browser, os, country string, bot bool) {
	c := UnpackClass(dims)
	cc := Country(dims)
	if cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' && cc[1] <= 'Z' {
		country = countryNames[int(cc[0]-'A')*26+int(cc[1]-'A')]
	}
	return DeviceName(c.Device), BrowserName(c.Browser), OSName(c.OS), country, c.Bot
}

// DeviceName returns the stable name of a device class ("other" if unknown).
func DeviceName(d uint8) string { return name(deviceNames[:], d) }

// BrowserName returns the stable name of a browser family ("other" if unknown).
func BrowserName(b uint8) string { return name(browserNames[:], b) }

// OSName returns the stable name of an OS family ("other" if unknown).
func OSName(o uint8) string { return name(osNames[:], o) }

func name(names []string, v uint8) string {
	if int(v) < len(names) {
		return names[v]
	}
	return names[0]
}

func upperLetter(b byte) byte {
	switch {
	case b >= 'A' && b <= 'Z':
		return b
	case b >= 'a' && b <= 'z':
		return b - ('a' - 'A')
	}
	return 0
}
