package storage

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Cursor is a position in the newest-first order of links: the last link of
// the previous page. Links come after it when (CreatedAt, Code) is smaller.
type Cursor struct {
	CreatedAt time.Time
	Code      string
}

// Encode returns the opaque form handed to API clients.
func (c Cursor) Encode() string {
	raw := strconv.FormatInt(c.CreatedAt.UnixNano(), 10) + ":" + c.Code
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// Before reports whether link l sorts after the cursor (is on a later page).
func (c Cursor) Before(l *Link) bool {
	a, b := l.CreatedAt.UnixNano(), c.CreatedAt.UnixNano()
	return a < b || (a == b && l.Code < c.Code)
}

// DecodeCursor parses Cursor.Encode's output; ErrInvalidCursor otherwise.
func DecodeCursor(s string) (Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrInvalidCursor
	}
	ts, code, ok := strings.Cut(string(raw), ":")
	if !ok || code == "" {
		return Cursor{}, ErrInvalidCursor
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Cursor{}, ErrInvalidCursor
	}
	return Cursor{CreatedAt: time.Unix(0, n).UTC(), Code: code}, nil
}
