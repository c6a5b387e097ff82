package main

import "testing"

func TestAppendCode(t *testing.T) {
	f := func(i int, want string) {
		t.Helper()
		if got := string(appendCode(nil, i)); got != want {
			t.Errorf("appendCode(%d) = %q, want %q", i, got, want)
		}
	}
	f(1, "c0000001")
	f(1000000, "c1000000")
	f(12345678, "c12345678")
}
