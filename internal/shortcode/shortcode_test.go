package shortcode

import (
	"bytes"
	"errors"
	"fmt"
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
		"non-ascii":          {code: "café", wantErr: "'é' (U+00E9) at position 4"},
		"cyrillic":           {code: "tеst", wantErr: "'е' (U+0435) at position 2"},
		"after non-ascii":    {code: "éa/", wantErr: "'é' (U+00E9) at position 1"},
		"position in runes":  {code: "Ωé", wantErr: "'Ω' (U+03A9) at position 1"},
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
	c, err := generate(bytes.NewReader(src), Length)
	if err != nil {
		t.Fatal(err)
	}
	if want := "0z0z0z0"; c != want {
		t.Errorf("generate = %q, want %q", c, want)
	}
}

func TestGenerate_SkipsReservedWords(t *testing.T) {
	idx := func(s string) []byte {
		out := make([]byte, 16) // one read of generate's buffer
		for i := range s {
			out[i] = byte(strings.IndexByte(Alphabet, s[i]))
		}
		return out
	}
	src := append(idx("metrics"), idx("Metrics")...)
	src = append(src, idx("abc1234")...)
	c, err := generate(bytes.NewReader(src), Length)
	if err != nil {
		t.Fatal(err)
	}
	if c != "abc1234" {
		t.Fatalf("generate = %q, want the first code that is no reserved word", c)
	}
}

func TestGenerate_ReaderError(t *testing.T) {
	if _, err := generate(bytes.NewReader(nil), Length); err == nil {
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

func TestWellFormed(t *testing.T) {
	tests := map[string]struct {
		code string
		want bool
	}{
		"generated":       {code: "Xa91kQz", want: true},
		"all classes":     {code: "aZ09_-", want: true},
		"one char":        {code: "x", want: true},
		"max length":      {code: strings.Repeat("a", MaxLength), want: true},
		"reserved word":   {code: "api", want: true}, // a lookup, not a create: no reserved-word check
		"reserved symbol": {code: "-", want: true},
		"empty":           {code: "", want: false},
		"too long":        {code: strings.Repeat("a", MaxLength+1), want: false},
		"slash":           {code: "a/b", want: false},
		"dot":             {code: "favicon.ico", want: false},
		"space":           {code: "a b", want: false},
		"percent":         {code: "a%20", want: false},
		"non-ascii":       {code: "café", want: false},
		"nul":             {code: "a\x00", want: false},
		"high byte":       {code: "a\xff", want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := WellFormed([]byte(tc.code)); got != tc.want {
				t.Errorf("WellFormed(%q) = %v, want %v", tc.code, got, tc.want)
			}
			if got := WellFormedString(tc.code); got != tc.want {
				t.Errorf("WellFormedString(%q) = %v, want %v", tc.code, got, tc.want)
			}
		})
	}
}

// TestWellFormed_EveryByte checks the character set byte by byte against
// its definition.
func TestWellFormed_EveryByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
		if got := WellFormed([]byte{byte(c)}); got != want {
			t.Errorf("WellFormed([%#x]) = %v, want %v", c, got, want)
		}
	}
}

// FuzzValid_WellFormed: every code Valid accepts is well-formed (so a
// created code always redirects), and a well-formed code is valid unless it
// is a reserved word; the []byte and string forms agree.
func FuzzValid_WellFormed(f *testing.F) {
	for _, s := range []string{"abc", "API", "a/b", "", strings.Repeat("z", 65), "Xa91kQz", "well-known", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		wf := WellFormedString(s)
		if wf != WellFormed([]byte(s)) {
			t.Fatalf("WellFormed and WellFormedString disagree on %q", s)
		}
		if valid := Valid(s) == nil; valid != (wf && !Reserved(s)) {
			t.Fatalf("%q: Valid %v, WellFormed %v, Reserved %v", s, valid, wf, Reserved(s))
		}
	})
}

func TestWellFormed_AllocatesNothing(t *testing.T) {
	b := []byte("Xa91kQz")
	if n := testing.AllocsPerRun(100, func() {
		if !WellFormed(b) {
			t.Fatal("not well-formed")
		}
	}); n != 0 {
		t.Fatalf("WellFormed allocates %v times", n)
	}
}

func BenchmarkWellFormed(b *testing.B) {
	for _, n := range []int{Length, MaxLength} {
		code := bytes.Repeat([]byte("aZ9_-"), MaxLength)[:n]
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if !WellFormed(code) {
					b.Fatal("not well-formed")
				}
			}
		})
	}
}
