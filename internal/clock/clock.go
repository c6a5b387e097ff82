package clock

import (
	"sync"
	"sync/atomic"
	"time"
)

// Clock holds the current unix time in seconds, updated every Resolution.
type Clock struct {
	now  atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// Resolution is how often the clock advances.
const Resolution = 100 * time.Millisecond

// New starts a clock. Close stops it.
func New() *Clock {
	c := &Clock{stop: make(chan struct{})}
	c.now.Store(time.Now().Unix())
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(Resolution)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case now := <-t.C:
				c.now.Store(now.Unix())
			}
		}
	}()
	return c
}

// Unix is the current time in unix seconds, at most Resolution old.
func (c *Clock) Unix() int64 { return c.now.Load() }

// Close stops the clock's goroutine and waits for it.
func (c *Clock) Close() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
}
