package gateway

import (
	"fmt"
	"net/url"
	"strings"
)

// initSelfHosts collects the host names that are this service.
func (s *Server) initSelfHosts() error {
	for _, h := range s.cfg.SelfHosts {
		s.selfHosts[strings.ToLower(h)] = true
	}
	if s.cfg.BaseURL != "" {
		u, err := url.Parse(s.cfg.BaseURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("base url %q: want an absolute http(s) URL", s.cfg.BaseURL)
		}
		s.selfHosts[strings.ToLower(u.Host)] = true
		s.selfHosts[strings.ToLower(u.Hostname())] = true
	}
	return nil
}

// isSelfHost reports whether host (with or without port) is this service.
func (s *Server) isSelfHost(host string) bool {
	h := strings.ToLower(host)
	if s.selfHosts[h] {
		return true
	}
	if u, err := url.Parse("//" + h); err == nil && s.selfHosts[u.Hostname()] {
		return true
	}
	return false
}
