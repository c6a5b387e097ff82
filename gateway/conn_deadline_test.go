package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDeadlineSlack(t *testing.T) {
	for name, tc := range map[string]struct {
		read, write, idle time.Duration
		want              time.Duration
	}{
		"defaults":     {read: 10 * time.Second, write: 10 * time.Second, idle: 60 * time.Second, want: time.Second},
		"short read":   {read: 300 * time.Millisecond, write: 10 * time.Second, want: 75 * time.Millisecond},
		"short idle":   {read: 10 * time.Second, idle: 200 * time.Millisecond, want: 50 * time.Millisecond},
		"no deadlines": {want: time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			if got := deadlineSlack(Config{ReadTimeout: tc.read, WriteTimeout: tc.write, IdleTimeout: tc.idle}); got != tc.want {
				t.Errorf("deadlineSlack = %s, want %s", got, tc.want)
			}
		})
	}
}

// deadlineConn is a net.Conn whose Read and Write succeed at once and which
// records the deadlines set on it.
type deadlineConn struct {
	net.Conn
	reads, writes []time.Time
}

func (c *deadlineConn) Read(b []byte) (int, error)        { return len(b), nil }
func (c *deadlineConn) Write(b []byte) (int, error)       { return len(b), nil }
func (c *deadlineConn) SetReadDeadline(t time.Time) error { c.reads = append(c.reads, t); return nil }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.writes = append(c.writes, t)
	return nil
}

// TestLimitedConn_Deadlines drives a limitedConn the way fasthttp's
// serveConn does and checks which deadlines reach the socket: a later one
// once per slack, an earlier one at once, a cleared one at once, and none
// that no Read or Write follows.
func TestLimitedConn_Deadlines(t *testing.T) {
	const slack = time.Second
	t0 := time.Unix(1_700_000_000, 0)
	fake := &deadlineConn{}
	c := &limitedConn{Conn: fake, release: func() {}, slack: slack}
	buf := make([]byte, 1)

	// 1000 keep-alive requests, 10 ms apart: idle deadline, read, read
	// deadline (no read follows: the request came in one), write deadline,
	// write.
	for i := range 1000 {
		now := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		_ = c.SetReadDeadline(now.Add(60 * time.Second))
		_, _ = c.Read(buf)
		_ = c.SetReadDeadline(now.Add(10 * time.Second))
		_ = c.SetWriteDeadline(now.Add(10 * time.Second))
		_, _ = c.Write(buf)
	}
	// 10 s of requests: the socket's deadlines move about once per slack.
	if n := len(fake.reads); n < 5 || n > 11 {
		t.Fatalf("%d read deadlines reached the socket over 10 s, want about 10: %v", n, fake.reads)
	}
	if n := len(fake.writes); n < 5 || n > 11 {
		t.Fatalf("%d write deadlines reached the socket over 10 s, want about 10", n)
	}
	last := t0.Add(999 * 10 * time.Millisecond)
	if r := fake.reads[len(fake.reads)-1]; r.Before(last.Add(60*time.Second)) || r.After(last.Add(60*time.Second+slack)) {
		t.Errorf("last read deadline %s, want within [%s, +%s]", r, last.Add(60*time.Second), slack)
	}
	if w := fake.writes[len(fake.writes)-1]; w.Before(last.Add(10*time.Second)) || w.After(last.Add(10*time.Second+slack)) {
		t.Errorf("last write deadline %s, want within [%s, +%s]", w, last.Add(10*time.Second), slack)
	}

	// A request that needs a second read: its earlier read deadline is made
	// real before that read.
	fake.reads = nil
	now := last.Add(10 * time.Millisecond)
	_ = c.SetReadDeadline(now.Add(60 * time.Second))
	_, _ = c.Read(buf)
	_ = c.SetReadDeadline(now.Add(10 * time.Second))
	_, _ = c.Read(buf)
	if len(fake.reads) != 1 || fake.reads[0].Before(now.Add(10*time.Second)) || fake.reads[0].After(now.Add(10*time.Second+slack)) {
		t.Errorf("read deadlines %v, want one in [%s, +%s]", fake.reads, now.Add(10*time.Second), slack)
	}

	// Cleared: the socket's deadline is cleared too, once.
	fake.reads = nil
	_ = c.SetDeadline(time.Time{})
	_, _ = c.Read(buf)
	_, _ = c.Read(buf)
	if len(fake.reads) != 1 || !fake.reads[0].IsZero() {
		t.Errorf("read deadlines after clearing: %v, want one zero", fake.reads)
	}
}

// TestServer_IdleTimeout: a keep-alive connection idle past --http-idle-timeout
// is closed, no more than the slack late. ReadTimeout is longer, so the idle
// deadline is earlier than the one the socket already has.
func TestServer_IdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	e := newAPIEnv(t, func(c *Config, _ *Deps) { c.ReadTimeout, c.IdleTimeout = 5*time.Second, idle })
	conn, br := dialRequest(t, e)
	answered := time.Now()
	if err := conn.SetReadDeadline(answered.Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := br.Read(make([]byte, 1))
	took := time.Since(answered)
	if n != 0 || err != io.EOF {
		t.Fatalf("idle connection after %s: read %d, %v; want it closed (EOF) after %s", took, n, err, idle)
	}
	// The server armed the idle deadline just before the answer arrived.
	if took < idle-50*time.Millisecond || took > idle+deadlineSlack(e.srv.cfg)+time.Second {
		t.Errorf("idle connection closed after %s, want about %s", took, idle)
	}
}

// TestServer_SlowHeaders: a request whose headers are dribbled (slowloris)
// on a keep-alive connection is cut at --http-read-timeout (408), though
// the connection's idle deadline, already on the socket, is much later.
func TestServer_SlowHeaders(t *testing.T) {
	const read = 300 * time.Millisecond
	e := newAPIEnv(t, func(c *Config, _ *Deps) { c.ReadTimeout, c.IdleTimeout = read, 10*time.Second })
	conn, br := dialRequest(t, e)
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })
	start := time.Now()
	go func() {
		defer close(done)
		for _, b := range []byte("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("s", 1000)) {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{b}); err != nil {
				return
			}
		}
	}()
	if err := conn.SetReadDeadline(start.Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("dribbled request after %s: %v; want a 408 after %s", took, err, read)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("dribbled request: status %d, want 408", resp.StatusCode)
	}
	if took < read || took > read+deadlineSlack(e.srv.cfg)+time.Second {
		t.Errorf("dribbled request cut after %s, want about %s", took, read)
	}
}

// dialRequest opens a connection to e and has one request answered on it.
func dialRequest(t *testing.T, e *apiEnv) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /health: %d", resp.StatusCode)
	}
	return conn, br
}

// BenchmarkLimitedConn_Deadlines: the deadline calls fasthttp's serveConn
// makes per keep-alive request (idle deadline, a read, read deadline, write
// deadline), on a loopback TCP connection as it is and wrapped. The read is
// empty (it returns at once); the response write is left out.
func BenchmarkLimitedConn_Deadlines(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	server, ok := <-accepted
	if !ok {
		b.Fatal("accept failed")
	}
	defer server.Close()
	for name, c := range map[string]net.Conn{
		"raw":     server,
		"limited": &limitedConn{Conn: server, release: func() {}, slack: time.Second},
	} {
		b.Run("conn="+name, func(b *testing.B) {
			for b.Loop() {
				_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
				_, _ = c.Read(nil)
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			}
		})
	}
}
