package shortcode

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	tests := map[string]struct {
		code    string
		wantErr string // substring; "" = valid
	}{
		"simple":             {code: "abc", wantErr: ""},
		"all classes":        {code: "aZ09_-", wantErr: ""},
		"one char":           {code: "x", wantErr: ""},
		"max length":         {code: strings.Repeat("a", 64), wantErr: ""},
		"empty":              {code: "", wantErr: "empty"},
		"too long":           {code: strings.Repeat("a", 65), wantErr: "65 characters"},
		"slash":              {code: "a/b", wantErr: `'/' at position 2`},
		"dot":                {code: "favicon.ico", wantErr: `'.' at position 8`},
		"space":              {code: "a b", wantErr: "' ' at position 2"},
		"non-ascii":          {code: "café", wantErr: "position 4"},
		"percent":            {code: "a%20", wantErr: "'%'"},
		"reserved api":       {code: "api", wantErr: "reserved"},
		"reserved upper":     {code: "API", wantErr: "reserved"},
		"reserved mixed":     {code: "HeAlTh", wantErr: "reserved"},
		"reserved ready":     {code: "ready", wantErr: "reserved"},
		"reserved cluster":   {code: "Cluster", wantErr: "reserved"},
		"reserved prefix ok": {code: "apis", wantErr: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := Valid(tc.code)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Valid(%q) = %v, want nil", tc.code, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Valid(%q) = nil, want error containing %q", tc.code, tc.wantErr)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Valid(%q) = %v, not ErrInvalid", tc.code, err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Valid(%q) = %q, want it to contain %q", tc.code, err, tc.wantErr)
			}
		})
	}
}

func TestGenerate_ValidAndUniform(t *testing.T) {
	const n = 20000
	counts := map[byte]int{}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		c, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != Length {
			t.Fatalf("code %q has length %d", c, len(c))
		}
		if err := Valid(c); err != nil {
			t.Fatalf("generated code %q is not valid: %v", c, err)
		}
		if seen[c] {
			t.Fatalf("duplicate code %q after %d codes", c, i)
		}
		seen[c] = true
		for j := 0; j < len(c); j++ {
			counts[c[j]]++
		}
	}
	if len(counts) != len(Alphabet) {
		t.Fatalf("saw %d distinct characters, want %d", len(counts), len(Alphabet))
	}
	// Chi-squared over 62 symbols (61 degrees of freedom): the 99.99th
	// percentile is about 112; a biased generator (e.g. b%62 on raw bytes)
	// lands far above with this many samples.
	total := float64(n * Length)
	want := total / float64(len(Alphabet))
	var chi2 float64
	for i := 0; i < len(Alphabet); i++ {
		d := float64(counts[Alphabet[i]]) - want
		chi2 += d * d / want
	}
	if chi2 > 112 || math.IsNaN(chi2) {
		t.Errorf("chi-squared = %.1f over %d samples: not uniform", chi2, int(total))
	}
}

func TestGenerate_RejectsBiasedBytes(t *testing.T) {
	// Bytes 248..255 must be skipped, not folded onto the first symbols.
	src := bytes.Repeat([]byte{255, 248, 0, 61, 62, 247}, 10)
	c, err := generate(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if want := "0z0z0z0"; c != want {
		t.Errorf("generate = %q, want %q", c, want)
	}
}

func TestGenerate_ReaderError(t *testing.T) {
	if _, err := generate(bytes.NewReader(nil)); err == nil {
		t.Fatal("generate with an empty reader: want an error")
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Generate(); err != nil {
			b.Fatal(err)
		}
	}
}
