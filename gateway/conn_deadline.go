package gateway

import "time"

// Coarse connection deadlines. fasthttp arms ReadTimeout, IdleTimeout and
// WriteTimeout with a SetReadDeadline/SetWriteDeadline call for each phase
// of every request: three runtime timer updates per keep-alive request, a
// measured 5.6 % of the CPU of a cached redirect. A connection that
// limitedListener accepts keeps the deadline fasthttp asked for (want)
// apart from the one the socket has (real), and changes the socket's only
// before its next Read (Write), and only when want is later than real, or
// earlier than real-slack: then real = want+slack. A timeout therefore
// fires between its deadline and slack later, and a busy connection
// touches its timer about once per slack instead of three times per
// request (an idle deadline that a request's read deadline replaces is
// never made real when the request came in one read).
//
// This relies on how fasthttp's serveConn uses a connection: a
// direction's deadline is set by the goroutine that does that direction's
// I/O next. A deadline set from another goroutine to unblock a Read in
// progress would be late; nothing in the gateway does that (no
// TimeoutHandler, no Hijack; Shutdown closes connections).

// maxDeadlineSlack bounds deadlineSlack.
const maxDeadlineSlack = time.Second

// deadlineSlack is how late a timeout of cfg may fire: a quarter of the
// shortest positive timeout, at most maxDeadlineSlack.
func deadlineSlack(cfg Config) time.Duration {
	s := maxDeadlineSlack
	for _, t := range []time.Duration{cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout} {
		if t > 0 && t/4 < s {
			s = t / 4
		}
	}
	return s
}

// lazyDeadline is one direction's deadline of a connection, in unix
// nanoseconds, 0 for none. Not safe for concurrent use: the direction's
// I/O goroutine owns it.
type lazyDeadline struct {
	want, real int64
}

func (d *lazyDeadline) set(t time.Time) {
	if t.IsZero() {
		d.want = 0
		return
	}
	d.want = t.UnixNano()
}

// sync reports whether the socket's deadline must change before the next
// I/O, and to what (a zero time clears it); it records the change as done.
func (d *lazyDeadline) sync(slack time.Duration) (time.Time, bool) {
	w, r := d.want, d.real
	switch {
	case w == r:
		return time.Time{}, false
	case w == 0:
		d.real = 0
		return time.Time{}, true
	case r != 0 && w <= r && w >= r-int64(slack):
		return time.Time{}, false
	}
	d.real = w + int64(slack)
	return time.Unix(0, d.real), true
}
