package gateway

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestNew_ValidatesConfig(t *testing.T) {
	tests := map[string]struct {
		edit    func(*Config)
		wantErr string // "" = valid
	}{
		"default":                  {edit: func(*Config) {}},
		"no deadlines":             {edit: func(c *Config) { c.ReadTimeout, c.WriteTimeout, c.IdleTimeout = 0, 0, 0 }},
		"no rate limit":            {edit: func(c *Config) { c.APIRate, c.APIBurst = 0, 0 }},
		"no base url":              {edit: func(c *Config) { c.BaseURL = "" }},
		"zero max body":            {edit: func(c *Config) { c.MaxBodyBytes = 0 }, wantErr: "MaxBodyBytes must be positive, got 0"},
		"negative max body":        {edit: func(c *Config) { c.MaxBodyBytes = -1 }, wantErr: "MaxBodyBytes"},
		"zero resolve timeout":     {edit: func(c *Config) { c.ResolveTimeout = 0 }, wantErr: "ResolveTimeout must be positive, got 0s"},
		"negative read timeout":    {edit: func(c *Config) { c.ReadTimeout = -time.Second }, wantErr: "must not be negative, got -1s"},
		"negative idle timeout":    {edit: func(c *Config) { c.IdleTimeout = -time.Second }, wantErr: "IdleTimeout"},
		"negative cache max-age":   {edit: func(c *Config) { c.DefaultCacheMaxAge = -1 }, wantErr: "DefaultCacheMaxAge"},
		"negative rate":            {edit: func(c *Config) { c.APIRate = -1 }, wantErr: "APIRate"},
		"NaN rate":                 {edit: func(c *Config) { c.APIRate = math.NaN() }, wantErr: "APIRate"},
		"rate without burst":       {edit: func(c *Config) { c.APIBurst = 0 }, wantErr: "APIBurst must be at least 1 when APIRate is set, got 0"},
		"base url not absolute":    {edit: func(c *Config) { c.BaseURL = "sho.rt" }, wantErr: "base url"},
		"zero max conns":           {edit: func(c *Config) { c.MaxConns = 0 }, wantErr: "MaxConns and MaxConnsPerIP must be positive"},
		"per-ip over total":        {edit: func(c *Config) { c.MaxConnsPerIP = c.MaxConns + 1 }, wantErr: "MaxConnsPerIP at most MaxConns"},
		"zero value (no defaults)": {edit: func(c *Config) { *c = Config{} }, wantErr: "MaxBodyBytes"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			s, err := New(cfg, Deps{})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if s.cfg.MaxBodyBytes != cfg.MaxBodyBytes || s.cfg.ResolveTimeout != cfg.ResolveTimeout {
					t.Errorf("New changed the configuration: %+v, given %+v", s.cfg, cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
