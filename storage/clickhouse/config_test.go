package clickhouse

import "testing"

func TestConfig_Validate(t *testing.T) {
	if err := config("clickhouse://x:9000/db").Validate(); err != nil {
		t.Fatalf("DefaultConfig with a URL: %v", err)
	}
	// Zero is a value, never "the default": each of these is refused.
	bad := map[string]func(*Config){
		"no URL":             func(c *Config) { c.URL = "" },
		"zero dial timeout":  func(c *Config) { c.DialTimeout = 0 },
		"zero query timeout": func(c *Config) { c.QueryTimeout = 0 },
		"zero conns":         func(c *Config) { c.MaxOpenConns = 0 },
		"bad cluster name":   func(c *Config) { c.Cluster = "a-b` c" },
	}
	for name, f := range bad {
		t.Run(name, func(t *testing.T) {
			c := config("clickhouse://x:9000/db")
			f(&c)
			if err := c.Validate(); err == nil {
				t.Fatalf("%+v is valid", c)
			}
		})
	}
}
