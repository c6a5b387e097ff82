package gateway

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// fastBulkLinks is the bulk API's one-pass decoder for a body that plainly
// passes decodeStrict: {"links": [...]} whose items are objects of
// linkIn's fields, each at most once, with unescaped ASCII keys, values of
// the field's JSON type or null (strings, integers within range, booleans,
// an array of strings for tags). It returns the items as decodeStrict
// would decode them, one by one, and true. Anything else (another key, a
// nested value, a number with a fraction or exponent, invalid UTF-8, a
// type error in any item, nesting deeper than the body allows) returns
// false and decides nothing: the caller takes the strict path for the
// whole body, which says what is wrong. FuzzFastBulkLinks_AgreesWithStrict
// checks the agreement. Strict decoding of a 1000-link body was 27 % of a
// bulk create's CPU (issue 13's profile).
func fastBulkLinks(data []byte) ([]linkIn, bool) {
	if !json.Valid(data) {
		return nil, false
	}
	p := bulkScanner{data: data}
	if !p.byte('{') || !p.key("links") || !p.byte(':') || !p.byte('[') {
		return nil, false
	}
	items := make([]linkIn, 0, 64)
	if p.peek() == ']' {
		p.i++
	} else {
		for {
			if len(items) >= maxBulkLinks {
				return nil, false // the strict path says how many
			}
			items = append(items, linkIn{})
			if !p.link(&items[len(items)-1]) {
				return nil, false
			}
			if p.peek() == ',' {
				p.i++
				continue
			}
			if !p.byte(']') {
				return nil, false
			}
			break
		}
	}
	if !p.byte('}') {
		return nil, false
	}
	p.space()
	return items, p.i == len(data)
}

// bulkScanner reads data, which json.Valid accepted: strings end, brackets
// match, numbers and literals are well-formed.
type bulkScanner struct {
	data []byte
	i    int
}

func (p *bulkScanner) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek is the next byte after white space, 0 at the end.
func (p *bulkScanner) peek() byte {
	p.space()
	if p.i == len(p.data) {
		return 0
	}
	return p.data[p.i]
}

// byte consumes c after white space.
func (p *bulkScanner) byte(c byte) bool {
	if p.peek() != c {
		return false
	}
	p.i++
	return true
}

// rawString consumes a string and returns what is between its quotes and
// whether that has an escape or a byte that is not ASCII.
func (p *bulkScanner) rawString() (s []byte, plain, ok bool) {
	if p.peek() != '"' {
		return nil, false, false
	}
	start := p.i + 1
	plain = true
	j := start
	for ; p.data[j] != '"'; j++ {
		if c := p.data[j]; c == '\\' {
			plain = false
			j++
		} else if c >= 0x80 {
			plain = false
		}
	}
	p.i = j + 1
	return p.data[start:j], plain, true
}

// key consumes the object key want (plain ASCII only).
func (p *bulkScanner) key(want string) bool {
	k, plain, ok := p.rawString()
	return ok && plain && string(k) == want
}

// str consumes a string value as encoding/json decodes it.
func (p *bulkScanner) str() (string, bool) {
	start := p.i
	raw, plain, ok := p.rawString()
	if !ok {
		return "", false
	}
	if plain {
		return string(raw), true
	}
	if utf8.Valid(raw) && !hasByte(raw, '\\') {
		return string(raw), true
	}
	var s string // escapes or invalid UTF-8: encoding/json's own rules
	if err := json.Unmarshal(p.data[start:p.i], &s); err != nil {
		return "", false
	}
	return s, true
}

func hasByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// null consumes null.
func (p *bulkScanner) null() bool {
	if p.peek() != 'n' {
		return false
	}
	p.i += len("null")
	return true
}

// integer consumes an integer without fraction or exponent that fits in
// bits bits.
func (p *bulkScanner) integer(bits int) (int64, bool) {
	p.space()
	start := p.i
	if p.i < len(p.data) && p.data[p.i] == '-' {
		p.i++
	}
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
	}
	if p.i < len(p.data) && (p.data[p.i] == '.' || p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(p.data[start:p.i]), 10, bits)
	return n, err == nil
}

// boolean consumes true or false.
func (p *bulkScanner) boolean() (bool, bool) {
	switch p.peek() {
	case 't':
		p.i += len("true")
		return true, true
	case 'f':
		p.i += len("false")
		return false, true
	}
	return false, false
}

// strings consumes an array of strings.
func (p *bulkScanner) strings() ([]string, bool) {
	if !p.byte('[') {
		return nil, false
	}
	out := []string{}
	if p.peek() == ']' {
		p.i++
		return out, true
	}
	for {
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if p.peek() == ',' {
			p.i++
			continue
		}
		return out, p.byte(']')
	}
}

// fastValue reads a JSON null (n set to null) or a value with read into n.
func fastValue[T any](p *bulkScanner, n *nullable[T], read func() (T, bool)) bool {
	if p.null() {
		n.setNull()
		return true
	}
	v, ok := read()
	n.Set, n.V = true, v
	return ok
}

func fastString(p *bulkScanner, n *nullable[string]) bool { return fastValue(p, n, p.str) }

func fastBool(p *bulkScanner, n *nullable[bool]) bool { return fastValue(p, n, p.boolean) }

func fastInt[T int | int64](p *bulkScanner, n *nullable[T], bits int) bool {
	return fastValue(p, n, func() (T, bool) { v, ok := p.integer(bits); return T(v), ok })
}

// link consumes one item into in.
func (p *bulkScanner) link(in *linkIn) bool {
	if !p.byte('{') {
		return false
	}
	if p.peek() == '}' {
		p.i++
		return true
	}
	for {
		k, plain, ok := p.rawString()
		if !ok || !plain || !p.byte(':') {
			return false
		}
		var set bool
		switch string(k) {
		case "url":
			set = in.URL.Set
			ok = fastString(p, &in.URL)
		case "code":
			set = in.Code.Set
			ok = fastString(p, &in.Code)
		case "title":
			set = in.Title.Set
			ok = fastString(p, &in.Title)
		case "expires_at":
			set = in.ExpiresAt.Set
			ok = fastString(p, &in.ExpiresAt)
		case "tags":
			set, ok = in.Tags.Set, true // read before the value sets it
			if p.null() {
				in.Tags.setNull()
			} else {
				in.Tags.Set = true
				in.Tags.V, ok = p.strings()
			}
		case "max_visits":
			set = in.MaxVisits.Set
			ok = fastInt(p, &in.MaxVisits, 64)
		case "redirect_status":
			set = in.RedirectStatus.Set
			ok = fastInt(p, &in.RedirectStatus, strconv.IntSize)
		case "cache_max_age":
			set = in.CacheMaxAge.Set
			ok = fastInt(p, &in.CacheMaxAge, strconv.IntSize)
		case "forward_query":
			set = in.ForwardQuery.Set
			ok = fastBool(p, &in.ForwardQuery)
		case "disabled":
			set = in.Disabled.Set
			ok = fastBool(p, &in.Disabled)
		default:
			return false // an unknown field: the strict path names it
		}
		if set || !ok {
			return false // a duplicate key or a value of another type
		}
		if p.peek() == ',' {
			p.i++
			continue
		}
		return p.byte('}')
	}
}
