package actors

import "sync"

// routines starts and waits for one component's goroutines (nats-server's
// startGoRoutine): once close has been called it refuses to start more, and
// wait returns when every goroutine it started has returned. Each
// component owns one, so shutdown can stop them in order.
type routines struct {
	mu      sync.Mutex
	closing bool
	wg      sync.WaitGroup
}

// start runs f in a new goroutine and reports true, or reports false
// without running f once the component is closing.
func (r *routines) start(f func()) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return false
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		f()
	}()
	return true
}

// close refuses further goroutines; those running go on.
func (r *routines) close() {
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()
}

// wait blocks until every goroutine started has returned.
func (r *routines) wait() { r.wg.Wait() }

// stop is close then wait.
func (r *routines) stop() {
	r.close()
	r.wait()
}
