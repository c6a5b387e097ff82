package gateway

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// connLimits caps the connections a node holds: MaxConns in all (over
// every listener Serve is given) and MaxConnsPerIP from one client
// address. A connection beyond either is answered 503 and closed (TLS:
// closed, a handshake would block the accept loop), and counted in
// minibitly_gateway_connections_refused_total{reason}.
type connLimits struct {
	maxConns, maxPerIP int
	mu                 sync.Mutex
	total              int
	perIP              map[clientKey]int
	refusedTotal       prometheus.Counter
	refusedPerIP       prometheus.Counter
}

func newConnLimits(cfg Config, reg prometheus.Registerer) (*connLimits, error) {
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "minibitly_gateway_connections_refused_total",
		Help: "Connections refused at accept, by reason: total (--max-conns) or per_ip (--max-conns-per-ip).",
	}, []string{"reason"})
	if err := reg.Register(refused); err != nil {
		return nil, err
	}
	return &connLimits{
		maxConns: cfg.MaxConns, maxPerIP: cfg.MaxConnsPerIP, perIP: map[clientKey]int{},
		refusedTotal: refused.WithLabelValues("total"), refusedPerIP: refused.WithLabelValues("per_ip"),
	}, nil
}

var connRefusedAnswer = []byte("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: application/json\r\nRetry-After: 1\r\nContent-Length: 80\r\n\r\n" +
	`{"error":{"code":"too_many_connections","message":"too many open connections"}}` + "\n")

// admit registers c, or refuses it (and answers) when over a limit.
func (l *connLimits) admit(c net.Conn) (release func(), ok bool) {
	// Keyed as the rate limits are (clientKeyOf): an IPv6 client is its
	// /64, so rotating addresses inside it does not escape the cap.
	var ip clientKey
	hasIP := false
	if a, isTCP := c.RemoteAddr().(*net.TCPAddr); isTCP {
		if na, ok := netip.AddrFromSlice(a.IP); ok {
			ip, hasIP = clientKeyOf(na), true
		}
	}
	l.mu.Lock()
	switch {
	case l.total >= l.maxConns:
		l.mu.Unlock()
		l.refusedTotal.Inc()
		refuse(c)
		return nil, false
	case hasIP && l.perIP[ip] >= l.maxPerIP:
		l.mu.Unlock()
		l.refusedPerIP.Inc()
		refuse(c)
		return nil, false
	}
	l.total++
	if hasIP {
		l.perIP[ip]++
	}
	l.mu.Unlock()
	var once atomic.Bool
	return func() {
		if once.Swap(true) {
			return
		}
		l.mu.Lock()
		l.total--
		if hasIP {
			if l.perIP[ip]--; l.perIP[ip] <= 0 {
				delete(l.perIP, ip)
			}
		}
		l.mu.Unlock()
	}, true
}

func refuse(c net.Conn) {
	if _, isTLS := c.(*tls.Conn); !isTLS {
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = c.Write(connRefusedAnswer)
	}
	_ = c.Close()
}

// limitedListener applies connLimits to every connection it accepts, and
// makes fasthttp's per-request deadline updates coarse (conn_deadline.go).
type limitedListener struct {
	net.Listener
	l     *connLimits
	slack time.Duration
}

func (ln limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		release, ok := ln.l.admit(c)
		if !ok {
			continue
		}
		if tc, isTLS := c.(*tls.Conn); isTLS {
			return &limitedTLSConn{Conn: tc, release: release, slack: ln.slack}, nil
		}
		return &limitedConn{Conn: c, release: release, slack: ln.slack}, nil
	}
}

type limitedConn struct {
	net.Conn
	release func()
	slack   time.Duration
	d       connDeadlines
}

func (c *limitedConn) Close() error                       { c.release(); return c.Conn.Close() }
func (c *limitedConn) SetDeadline(t time.Time) error      { c.d.set(t, true, true); return nil }
func (c *limitedConn) SetReadDeadline(t time.Time) error  { c.d.set(t, true, false); return nil }
func (c *limitedConn) SetWriteDeadline(t time.Time) error { c.d.set(t, false, true); return nil }

func (c *limitedConn) Read(b []byte) (int, error) {
	if err := c.d.syncRead(c.Conn, c.slack); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *limitedConn) Write(b []byte) (int, error) {
	if err := c.d.syncWrite(c.Conn, c.slack); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// limitedTLSConn keeps *tls.Conn's methods (fasthttp's IsTLS looks for
// ConnectionState and Handshake).
type limitedTLSConn struct {
	*tls.Conn
	release func()
	slack   time.Duration
	d       connDeadlines
}

func (c *limitedTLSConn) Close() error                       { c.release(); return c.Conn.Close() }
func (c *limitedTLSConn) SetDeadline(t time.Time) error      { c.d.set(t, true, true); return nil }
func (c *limitedTLSConn) SetReadDeadline(t time.Time) error  { c.d.set(t, true, false); return nil }
func (c *limitedTLSConn) SetWriteDeadline(t time.Time) error { c.d.set(t, false, true); return nil }

func (c *limitedTLSConn) Read(b []byte) (int, error) {
	if err := c.d.syncRead(c.Conn, c.slack); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *limitedTLSConn) Write(b []byte) (int, error) {
	if err := c.d.syncWrite(c.Conn, c.slack); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// Handshake reads and writes below Read and Write (fasthttp calls it
// itself, after setting both deadlines): both are made real first.
func (c *limitedTLSConn) Handshake() error {
	if err := c.d.syncRead(c.Conn, c.slack); err != nil {
		return err
	}
	if err := c.d.syncWrite(c.Conn, c.slack); err != nil {
		return err
	}
	return c.Conn.Handshake()
}

// connDeadlines are a connection's two lazy deadlines (conn_deadline.go).
type connDeadlines struct{ rd, wd lazyDeadline }

func (d *connDeadlines) set(t time.Time, read, write bool) {
	if read {
		d.rd.set(t)
	}
	if write {
		d.wd.set(t)
	}
}

// syncRead (syncWrite) makes the read (write) deadline real on c when it
// must change before the next Read (Write).
func (d *connDeadlines) syncRead(c net.Conn, slack time.Duration) error {
	if t, ok := d.rd.sync(slack); ok {
		return c.SetReadDeadline(t)
	}
	return nil
}

func (d *connDeadlines) syncWrite(c net.Conn, slack time.Duration) error {
	if t, ok := d.wd.sync(slack); ok {
		return c.SetWriteDeadline(t)
	}
	return nil
}
