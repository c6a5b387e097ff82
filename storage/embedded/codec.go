package embedded

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"
)

// flip maps a signed value to an unsigned one that sorts the same in byte
// order.
func flip(x int64) uint64 { return uint64(x) ^ (1 << 63) }

func unflip(u uint64) int64 { return int64(u ^ (1 << 63)) }

// validCode reports whether code can be a key: non-empty, no 0x00 (the
// separator of visit keys).
func validCode(code string) bool {
	return code != "" && len(code) <= 255 && !bytes.Contains([]byte(code), []byte{0})
}

// timeRange is what UnixNano, and so the time index and storage.Cursor,
// can represent.
var (
	minTime = time.Unix(0, -1<<63+1)
	maxTime = time.Unix(0, 1<<63-1)
)

func checkTime(t time.Time) error {
	if t.Before(minTime) || t.After(maxTime) {
		return fmt.Errorf("time %v outside %d..%d", t, minTime.Year(), maxTime.Year())
	}
	return nil
}

// appendTimeKey appends flip(createdAt ns) ‖ code.
func appendTimeKey(dst []byte, createdAt time.Time, code string) []byte {
	dst = binary.BigEndian.AppendUint64(dst, flip(createdAt.UnixNano()))
	return append(dst, code...)
}

// appendTagPrefix appends uvarint(len tag) ‖ tag.
func appendTagPrefix(dst []byte, tag string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(tag)))
	return append(dst, tag...)
}

// successor returns the smallest key greater than every key starting with
// p, or nil when there is none (p empty or all 0xff).
func successor(p []byte) []byte {
	s := bytes.Clone(p)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < 0xff {
			s[i]++
			return s[:i+1]
		}
	}
	return nil
}

// appendVisitPrefix appends code ‖ 0x00.
func appendVisitPrefix(dst []byte, code string) []byte {
	return append(append(dst, code...), 0)
}

// appendVisitKey appends the visits bucket key of k.
func appendVisitKey(dst []byte, code string, minute int64, ref, dev, br, os, cc string, bot bool) []byte {
	dst = appendVisitPrefix(dst, code)
	dst = binary.BigEndian.AppendUint64(dst, flip(minute))
	for _, s := range [...]string{ref, dev, br, os, cc} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	if bot {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// visitDims is the decoded tail of a visit key.
type visitDims struct {
	minute               int64
	ref, dev, br, os, cc string
	bot                  bool
}

// decodeVisitKey decodes a visits key whose prefix (code ‖ 0x00) has
// length n.
func decodeVisitKey(k []byte, n int) (visitDims, error) {
	var d visitDims
	if len(k) < n+8 {
		return d, fmt.Errorf("visit key %q: short", k)
	}
	d.minute = unflip(binary.BigEndian.Uint64(k[n:]))
	rest := k[n+8:]
	for _, dst := range [...]*string{&d.ref, &d.dev, &d.br, &d.os, &d.cc} {
		l, m := binary.Uvarint(rest)
		if m <= 0 || uint64(len(rest)-m) < l {
			return d, fmt.Errorf("visit key %q: bad dimension", k)
		}
		*dst = string(rest[m : m+int(l)])
		rest = rest[m+int(l):]
	}
	if len(rest) != 1 || rest[0] > 1 {
		return d, fmt.Errorf("visit key %q: bad bot flag", k)
	}
	d.bot = rest[0] == 1
	return d, nil
}

func u64(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
