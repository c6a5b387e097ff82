package postgres

import (
	"testing"
	"time"
)

func TestConfig_Validate(t *testing.T) {
	if err := config("postgres://x").Validate(); err != nil {
		t.Fatalf("DefaultConfig with a URL: %v", err)
	}
	if err := DefaultConfig().Validate(); err == nil {
		t.Fatal("DefaultConfig without a URL is valid")
	}
	// Zero is a value, never "the default": a zero that makes no sense is
	// refused, a zero that means something (BatchWindow: do not wait) is kept.
	bad := map[string]func(*Config){
		"zero max conns":       func(c *Config) { c.MaxConns = 0 },
		"min above max":        func(c *Config) { c.MinConns = c.MaxConns + 1 },
		"negative min":         func(c *Config) { c.MinConns = -1 },
		"zero connect timeout": func(c *Config) { c.ConnectTimeout = 0 },
		"zero query timeout":   func(c *Config) { c.QueryTimeout = 0 },
		"negative window":      func(c *Config) { c.BatchWindow = -time.Millisecond },
		"zero max batch":       func(c *Config) { c.MaxBatch = 0 },
		"zero flushers":        func(c *Config) { c.Flushers = 0 },
	}
	for name, f := range bad {
		t.Run(name, func(t *testing.T) {
			c := config("postgres://x")
			f(&c)
			if err := c.Validate(); err == nil {
				t.Fatalf("%+v is valid", c)
			}
		})
	}
	c := config("postgres://x")
	c.BatchWindow = 0
	if err := c.Validate(); err != nil {
		t.Fatalf("BatchWindow 0 (do not wait): %v", err)
	}
}
