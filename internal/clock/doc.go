// Package clock is a coarse clock for the redirect hot path: one atomic load
// instead of a time.Now call. A goroutine owned by the Clock advances it.
package clock
