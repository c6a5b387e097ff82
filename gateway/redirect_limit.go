package gateway

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// Rate limits of the redirect path, per client address (clientip.go):
// Config.RedirectRateLimit counts every redirect request,
// Config.MissRateLimit the ones that name no cached link (a malformed code,
// a near-cache miss that asks the store, a remembered unknown code). Both
// are split over the cluster's alive members (ipLimiter).

// limitState is the limiters' share of a Server.
type limitState struct {
	redirect *ipLimiter // nil: off
	miss     *ipLimiter // nil: off
	api      *keyLimiter
	trusted  trustedProxies
	// now is the limiters' clock in unix nanos; nil = the request's time
	// (tests set it).
	now func() int64

	limitedRedirect, limitedMiss, limitedAPI prometheus.Counter
	members                                  atomic.Int64 // the split's alive count

	start    sync.Once
	stopOnce sync.Once
	stop     chan struct{}
	wg       sync.WaitGroup
}

// aliveRefresh is how often the limits' split follows the membership.
const aliveRefresh = time.Second

// initLimits builds the limiters of cfg (validated) and their metric.
func (s *Server) initLimits(reg prometheus.Registerer) error {
	l := &s.limits
	l.stop = make(chan struct{})
	l.trusted, _ = parseTrustedProxies(s.cfg.TrustedProxies) // checked by Validate
	alive := s.alive()
	l.members.Store(int64(alive))
	if !s.cfg.RedirectRateLimit.Off() {
		l.redirect = newIPLimiter(s.cfg.RedirectRateLimit, alive)
	}
	if !s.cfg.MissRateLimit.Off() {
		l.miss = newIPLimiter(s.cfg.MissRateLimit, alive)
	}
	if s.cfg.APIRate > 0 {
		l.api = newKeyLimiter(s.cfg.APIRate, s.cfg.APIBurst)
		l.api.setAlive(alive)
	}
	limited := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "minibitly_gateway_rate_limited_total",
		Help: "Requests answered 429 by a rate limit, by kind: redirect (--redirect-rate-limit), miss (--miss-rate-limit), api (--api-rate).",
	}, []string{"kind"})
	l.limitedRedirect = limited.WithLabelValues("redirect")
	l.limitedMiss = limited.WithLabelValues("miss")
	l.limitedAPI = limited.WithLabelValues("api")
	if err := reg.Register(limited); err != nil {
		return err
	}
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "minibitly_gateway_rate_limit_members",
		Help: "Alive members the rate limits are split over (each node allows limit ÷ this).",
	}, func() float64 { return float64(l.members.Load()) }))
}

// alive is the number of members the limits are split over (1 without a
// cluster).
func (s *Server) alive() int {
	if s.d.Cluster == nil {
		return 1
	}
	return max(s.d.Cluster.Alive(), 1)
}

// refreshAlive re-reads the membership into the limiters.
func (s *Server) refreshAlive() {
	l := &s.limits
	if l.redirect == nil && l.miss == nil && l.api == nil {
		return
	}
	n := s.alive()
	l.members.Store(int64(n))
	if l.redirect != nil {
		l.redirect.setAlive(n)
	}
	if l.miss != nil {
		l.miss.setAlive(n)
	}
	if l.api != nil {
		l.api.setAlive(n)
	}
}

// startLimits starts the membership refresher (once; Serve).
func (s *Server) startLimits() {
	s.limits.start.Do(func() {
		if s.d.Cluster == nil {
			return
		}
		s.limits.wg.Add(1)
		go func() {
			defer s.limits.wg.Done()
			t := time.NewTicker(aliveRefresh)
			defer t.Stop()
			for {
				select {
				case <-s.limits.stop:
					return
				case <-t.C:
					s.refreshAlive()
				}
			}
		}()
	})
}

// stopLimits stops the refresher and waits for it (Shutdown; idempotent).
func (s *Server) stopLimits() {
	s.limits.stopOnce.Do(func() { close(s.limits.stop) })
	s.limits.wg.Wait()
}

func (s *Server) limitNow(ctx *fasthttp.RequestCtx) int64 {
	if s.limits.now != nil {
		return s.limits.now()
	}
	return ctx.Time().UnixNano()
}

// limitRedirect counts a redirect request against --redirect-rate-limit;
// false when it was refused (and answered 429).
func (s *Server) limitRedirect(ctx *fasthttp.RequestCtx) bool {
	l := s.limits.redirect
	if l == nil {
		return true
	}
	ok, wait := l.allow(clientKeyOf(s.clientAddr(ctx)), s.limitNow(ctx))
	if !ok {
		s.limits.limitedRedirect.Inc()
		s.writeRateLimited(ctx, l.rate, wait, "too many redirect requests from your address; retry after the Retry-After seconds")
	}
	return ok
}

// limitMiss counts a redirect request that names no cached link against
// --miss-rate-limit; false when it was refused (and answered 429).
func (s *Server) limitMiss(ctx *fasthttp.RequestCtx) bool {
	l := s.limits.miss
	if l == nil {
		return true
	}
	ok, wait := l.allow(clientKeyOf(s.clientAddr(ctx)), s.limitNow(ctx))
	if !ok {
		s.limits.limitedMiss.Inc()
		s.writeRateLimited(ctx, l.rate, wait, "too many requests for unknown links from your address; retry after the Retry-After seconds")
	}
	return ok
}

// writeRateLimited answers 429 in the native JSON error format.
func (s *Server) writeRateLimited(ctx *fasthttp.RequestCtx, r Rate, wait time.Duration, msg string) {
	setRateLimitHeaders(&ctx.Response.Header, int64(r.N), int64(r.Per/time.Second), wait)
	s.writeError(ctx, errorf(http.StatusTooManyRequests, "rate_limited", msg))
}

var (
	hdrRetryAfter         = []byte("Retry-After")
	hdrRateLimitLimit     = []byte("Ratelimit-Limit")
	hdrRateLimitRemaining = []byte("Ratelimit-Remaining")
	hdrRateLimitReset     = []byte("Ratelimit-Reset")
	hdrRateLimitPolicy    = []byte("Ratelimit-Policy")
	zero                  = []byte("0")
)

// setRateLimitHeaders sets the headers of a 429 (IETF draft
// "RateLimit header fields for HTTP"): Retry-After and RateLimit-Reset are
// the whole seconds (at least 1) until one more request is allowed,
// RateLimit-Limit the configured limit (cluster-wide) per window,
// RateLimit-Policy "limit;w=window seconds".
func setRateLimitHeaders(h *fasthttp.ResponseHeader, limit, window int64, wait time.Duration) {
	secs := int64((wait + time.Second - 1) / time.Second)
	secs = max(secs, 1)
	var buf [24]byte
	h.SetCanonical(hdrRetryAfter, strconv.AppendInt(buf[:0], secs, 10))
	h.SetCanonical(hdrRateLimitReset, strconv.AppendInt(buf[:0], secs, 10))
	h.SetCanonical(hdrRateLimitLimit, strconv.AppendInt(buf[:0], limit, 10))
	h.SetCanonical(hdrRateLimitRemaining, zero)
	p := strconv.AppendInt(buf[:0], limit, 10)
	p = append(p, ";w="...)
	h.SetCanonical(hdrRateLimitPolicy, strconv.AppendInt(p, window, 10))
}

// allowKey counts one API request of key id against --api-rate.
func (s *Server) allowKey(id string) (bool, time.Duration) {
	if s.limits.api == nil {
		return true, 0
	}
	now := time.Now()
	if s.limits.now != nil {
		now = time.Unix(0, s.limits.now())
	}
	return s.limits.api.allow(id, now)
}
