package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Strict JSON decoding of API bodies.
//
// encoding/json matches keys case-insensitively (with Unicode folding: "K",
// the Kelvin sign, matches "k") and keeps the last of duplicate keys, so
// {"url":"a","URL":"b"} decodes to "b" even with DisallowUnknownFields
// (golang/go#48298). decodeStrict instead:
//
//   - walks the whole document with a json.Decoder's tokens first, refusing
//     invalid JSON, anything but one object, trailing data, and duplicate
//     top-level keys (nested objects are either refused as a wrong type or,
//     like bulk items, decoded by their own decodeStrict call, which checks
//     their keys: a bad item then fails alone);
//   - requires every top-level key to equal a field's json name exactly (so
//     "URL" is an unknown field, with a hint);
//   - decodes each value into its field alone, so a type error names the
//     field, and refuses null for fields that are not nullable.
//
// Target structs hold only scalars, slices of scalars, nullable[T] and
// json.RawMessage: nested objects are decoded by another decodeStrict call.
//
// The walk refuses nesting deeper than maxJSONDepth, so it costs memory and
// time linear in the input: the path of a value ("links[3].url") is a chain
// of frames on the walk's stack and becomes a string only for an error.
// Messages quote at most maxExcerpt bytes of any input (excerpt).

// maxJSONDepth is the deepest nesting of arrays and objects a body may
// have, counting the top-level object as 1. A link body needs 3 (tags in a
// link, links in a bulk body, the bulk body).
const maxJSONDepth = 32

// maxExcerpt is the most bytes of a client's input an error message quotes.
const maxExcerpt = 64

// excerpt is s cut to maxExcerpt bytes on a UTF-8 boundary, with "…" when
// cut.
func excerpt(s string) string { return cutUTF8(s, maxExcerpt) }

// cutUTF8 is s cut to at most n bytes on a UTF-8 boundary, with "…"
// appended when cut.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// jsonPath is one step of the path to a value during the walk: a member of
// an object (key) or an element of an array (index). Frames live on the
// walk's stack; String builds the path only when an error names it.
type jsonPath struct {
	parent *jsonPath
	root   string // the where prefix, on the top frame only
	key    string
	index  int // -1 for an object member
}

func (p *jsonPath) String() string {
	var steps []*jsonPath
	for q := p; q != nil; q = q.parent {
		steps = append(steps, q)
	}
	var b strings.Builder
	for i := len(steps) - 1; i >= 0; i-- {
		q := steps[i]
		switch {
		case q.parent == nil:
			b.WriteString(q.root)
		case q.index >= 0:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(q.index))
			b.WriteByte(']')
		default:
			if q.parent.parent != nil {
				b.WriteByte('.')
			}
			b.WriteString(excerpt(q.key))
		}
	}
	return b.String()
}

// nullable is a field that distinguishes absent, null and a value.
type nullable[T any] struct {
	Set  bool // the key was present
	Null bool // ... with the value null
	V    T
}

func (n *nullable[T]) setNull()    { n.Set, n.Null = true, true }
func (n *nullable[T]) target() any { n.Set = true; return &n.V }

type nullSetter interface {
	setNull()
	target() any
}

// errBadJSON builds the 400 error for a body that is not what was asked.
func errBadJSON(code, format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, code, fmt.Sprintf(format, args...))
}

// decodeStrict decodes data, a JSON object, into dst, a pointer to a struct.
// where prefixes field names in messages (e.g. "links[3]."); errors are
// *Error with status 400.
func decodeStrict(data []byte, dst any, where string) error {
	keys, err := checkObject(data, where)
	if err != nil {
		return err
	}
	rv := reflect.ValueOf(dst).Elem()
	fields := fieldsOf(rv.Type())
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return errBadJSON("invalid_json", "%sthe body is not valid JSON: %v", where, err)
	}
	for _, k := range keys {
		idx, ok := fields.byName[k]
		if !ok {
			return unknownField(fields, k, where)
		}
		f := rv.Field(idx).Addr().Interface()
		v := raw[k]
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			ns, ok := f.(nullSetter)
			if !ok {
				return errBadJSON("invalid_type", "field %q%s must not be null", where+k, "")
			}
			ns.setNull()
			continue
		}
		if ns, ok := f.(nullSetter); ok {
			f = ns.target()
		}
		if err := json.Unmarshal(v, f); err != nil {
			return typeError(where+k, reflect.TypeOf(f).Elem(), err)
		}
	}
	return nil
}

type structFields struct {
	byName map[string]int
	names  []string
}

var fieldCache sync.Map // reflect.Type → *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	sf := &structFields{byName: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		sf.byName[name] = i
		sf.names = append(sf.names, name)
	}
	fieldCache.Store(t, sf)
	return sf
}

func unknownField(f *structFields, k, where string) error {
	for _, n := range f.names {
		if strings.EqualFold(n, k) {
			return errBadJSON("unknown_field", "unknown field %q; field names are case-sensitive, did you mean %q?", where+excerpt(k), where+n)
		}
	}
	return errBadJSON("unknown_field", "unknown field %q; allowed fields: %s", where+excerpt(k), strings.Join(f.names, ", "))
}

// typeError names the field and the JSON type it wants.
func typeError(field string, t reflect.Type, err error) error {
	want := describeType(t)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		got := te.Value
		if strings.HasPrefix(got, "number") {
			if t.Kind() == reflect.Int || t.Kind() == reflect.Int64 {
				return errBadJSON("invalid_type", "field %q must be %s; got %s (not an integer or out of range)", field, want, got)
			}
			got = "a number"
		} else if got == "array" || got == "object" {
			got = "an " + got
		} else {
			got = "a " + got
		}
		return errBadJSON("invalid_type", "field %q must be %s; got %s", field, want, got)
	}
	return errBadJSON("invalid_type", "field %q must be %s: %v", field, want, err)
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Uint64, reflect.Uint, reflect.Uint32:
		return "a non-negative integer"
	case reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t == reflect.TypeOf(json.RawMessage(nil)) {
			return "a JSON value"
		}
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "a "), "an ") + "s"
	}
	return t.String()
}

// checkObject walks data's tokens: exactly one JSON object, nothing after
// it, no duplicate top-level key, nesting at most maxJSONDepth. It returns
// the top-level keys in order. A body that plainly passes (fastObjectKeys)
// is not tokenized; anything else takes the token walk, which says what is
// wrong.
func checkObject(data []byte, where string) ([]string, error) {
	if keys, ok := fastObjectKeys(data); ok {
		return keys, nil
	}
	return walkCheckObject(data, where)
}

// fastObjectKeys is checkObject's path for input that passes: ok only when
// data is valid JSON (json.Valid: one value, nothing after it), an object,
// nested less deep than maxJSONDepth, whose top-level keys have no escape
// and none twice; then it returns those keys. On false nothing is decided:
// the token walk looks again. The bulk API checks every link this way (the
// token walk was a quarter of a bulk create's CPU: issue 13's profile).
func fastObjectKeys(data []byte) ([]string, bool) {
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	if i == len(data) || data[i] != '{' || !json.Valid(data) {
		return nil, false
	}
	var keys []string
	level, expectKey := 0, false
	for ; i < len(data); i++ {
		switch c := data[i]; c {
		case '{', '[':
			level++
			if level >= maxJSONDepth {
				return nil, false
			}
			expectKey = c == '{' && level == 1
		case '}', ']':
			level--
		case ',':
			expectKey = level == 1
		case '"':
			start := i + 1
			j := start
			for ; data[j] != '"'; j++ { // valid JSON: the string ends
				if expectKey && data[j] >= 0x80 {
					return nil, false // not ASCII: the walk decodes it (invalid UTF-8 becomes U+FFFD)
				}
				if data[j] == '\\' {
					if expectKey {
						return nil, false // an escaped key: the walk unescapes it
					}
					j++ // the escaped byte (a quote or a backslash)
				}
			}
			if expectKey {
				keys = append(keys, string(data[start:j]))
				expectKey = false
			}
			i = j
		}
	}
	if len(keys) > 1 {
		seen := make(map[string]struct{}, len(keys))
		for _, k := range keys {
			if _, dup := seen[k]; dup {
				return nil, false
			}
			seen[k] = struct{}{}
		}
	}
	return keys, true
}

// walkCheckObject is checkObject by json.Decoder's tokens, with the error
// that says what is wrong.
func walkCheckObject(data []byte, where string) ([]string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errBadJSON("invalid_json", "%sthe body is empty; send a JSON object", where)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(where, err, dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errBadJSON("invalid_json", "%sexpected a JSON object, got %s", where, tokenKind(tok))
	}
	var keys []string
	root := &jsonPath{root: where, index: -1}
	if err := walkObject(dec, root, 1, func(k string) { keys = append(keys, k) }); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		off := dec.InputOffset()
		return nil, errBadJSON("invalid_json", "%sunexpected data after the JSON object at byte %d", where, off)
	}
	return keys, nil
}

// walkObject consumes an object's members after its '{', at nesting depth
// depth. With onKey set (the top level) it refuses duplicate keys and
// reports each key.
func walkObject(dec *json.Decoder, path *jsonPath, depth int, onKey func(string)) error {
	var seen map[string]bool
	if onKey != nil {
		seen = map[string]bool{}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(path.prefix(), err, dec)
		}
		k, ok := tok.(string)
		if !ok {
			return errBadJSON("invalid_json", "%sobject key expected at byte %d", path.prefix(), dec.InputOffset())
		}
		member := &jsonPath{parent: path, key: k, index: -1}
		if onKey != nil {
			if seen[k] {
				return errBadJSON("duplicate_field", "field %q appears more than once", member.String())
			}
			seen[k] = true
			onKey(k)
		}
		if err := walkValue(dec, member, depth); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return syntaxError(path.prefix(), err, dec)
	}
	return nil
}

// walkValue consumes one value inside a container at nesting depth depth.
func walkValue(dec *json.Decoder, path *jsonPath, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(path.String()+": ", err, dec)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxJSONDepth {
		return errBadJSON("invalid_json", "%s: the JSON body nests arrays and objects deeper than %d levels", path, maxJSONDepth)
	}
	switch d {
	case '{':
		return walkObject(dec, path, depth+1, nil)
	case '[':
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, &jsonPath{parent: path, index: i}, depth+1); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return syntaxError(path.String()+": ", err, dec)
		}
	}
	return nil
}

// prefix is the path as the start of a message about its members: "" at
// the top, else "links[3]." (root's where prefix included).
func (p *jsonPath) prefix() string {
	if p.parent == nil {
		return p.root
	}
	return p.String() + "."
}

func syntaxError(where string, err error, dec *json.Decoder) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errBadJSON("invalid_json", "%sthe JSON body ends unexpectedly", where)
	}
	return errBadJSON("invalid_json", "%sinvalid JSON near byte %d: %v", where, dec.InputOffset(), err)
}

func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return string(v)
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "something else"
}
