// Package useragent classifies a User-Agent header into device class,
// browser family, OS family and a bot flag, without allocating.
package useragent

// Class is a classified user agent. (Placeholder: the classifier lands next.)
type Class struct {
	Device, Browser, OS uint8
	Bot                 bool
}

// Classify classifies ua.
func Classify(ua []byte) Class { return Class{} }

// Pack packs c and a country code into one word.
func (c Class) Pack(country [2]byte) uint32 { return 0 }
