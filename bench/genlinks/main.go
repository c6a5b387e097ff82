// Command genlinks is bench/run.sh's HTTP helper (so the script needs no
// curl): it waits for a server, creates links and walks them, with the
// deterministic codes c0000001 … (the same codes bench/bare serves):
//
//	genlinks wait -url http://127.0.0.1:8080/ready -timeout 30s [-want 200]
//	    poll until the URL answers the status -want (no redirect is followed);
//	    with -pid, give up as soon as that process has exited.
//	genlinks link -url http://127.0.0.1:8080 -key KEY -code c0000001
//	    POST /api/v1/links {"url":…,"code":…}; the answer must be 201.
//	genlinks create -url http://127.0.0.1:8080 -key KEY -n 1000000
//	    POST /api/v1/links/bulk, 1000 links per body, -c requests in flight;
//	    any answer but 2xx is an error.
//	genlinks walk -url http://127.0.0.1:8080 -n 1000000
//	    GET each /{code} exactly once (filling the node's caches); every
//	    answer must be a 30x.
//
// Both print one summary line: "<verb> <n> in <duration> (<rate>/s)".
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "node base URL")
	key := fs.String("key", "", "API key (create)")
	n := fs.Int("n", 1000, "number of links c0000001 … c<n>")
	batch := fs.Int("batch", 1000, "links per bulk request (create; the API caps it at 1000)")
	conc := fs.Int("c", 8, "requests in flight")
	target := fs.String("target", "https://example.com/", "redirect target prefix; the code is appended (create)")
	timeout := fs.Duration("timeout", 30*time.Second, "per-request timeout (wait: overall deadline)")
	pid := fs.Int("pid", 0, "give up waiting when this process has exited (wait)")
	want := fs.Int("want", fasthttp.StatusOK, "status that means ready (wait)")
	code := fs.String("code", "c0000001", "code to create (link)")
	if err := fs.Parse(os.Args[2:]); err != nil {
		usage()
	}
	client := &fasthttp.Client{
		MaxConnsPerHost:     *conc,
		ReadTimeout:         *timeout,
		WriteTimeout:        *timeout,
		MaxResponseBodySize: 64 << 20,
	}
	start := time.Now()
	var err error
	switch os.Args[1] {
	case "wait":
		if err = waitReady(client, *base, *want, *pid, *timeout); err == nil {
			return
		}
	case "link":
		if err = createOne(client, *base, *key, *target, *code, *timeout); err == nil {
			return
		}
	case "create":
		err = create(client, *base, *key, *target, *n, *batch, *conc, *timeout)
	case "walk":
		err = walk(client, *base, *n, *conc, *timeout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "genlinks %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	d := time.Since(start)
	fmt.Printf("%s %d in %s (%.0f/s)\n", os.Args[1], *n, d.Round(time.Millisecond), float64(*n)/d.Seconds())
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: genlinks wait|link|create|walk -url URL [-key KEY] [-code CODE] [-n N] [-c CONC] [-batch B] [-want STATUS] [-timeout D]")
	os.Exit(2)
}

// appendCode appends the i-th bench code: c0000001 for i = 1.
func appendCode(dst []byte, i int) []byte {
	dst = append(dst, 'c')
	var d [20]byte
	s := strconv.AppendInt(d[:0], int64(i), 10)
	for k := len(s); k < 7; k++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// run calls job(w, i) for i in [0, jobs) from conc workers and returns the
// first error; the rest of the jobs are skipped after one fails.
func run(jobs, conc int, job func(w, i int) error) error {
	var (
		next   atomic.Int64
		failed atomic.Bool
		once   sync.Once
		first  error
		wg     sync.WaitGroup
	)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= jobs {
					return
				}
				if err := job(w, i); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func create(c *fasthttp.Client, base, key, target string, n, batch, conc int, timeout time.Duration) error {
	if key == "" {
		return fmt.Errorf("-key is required")
	}
	if batch < 1 || batch > 1000 {
		return fmt.Errorf("-batch must be 1..1000")
	}
	uri := base + "/api/v1/links/bulk"
	auth := "Bearer " + key
	jobs := (n + batch - 1) / batch
	return run(jobs, conc, func(_, j int) error {
		lo, hi := j*batch+1, min((j+1)*batch, n)
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.SetRequestURI(uri)
		req.Header.SetContentType("application/json")
		req.Header.Set("Authorization", auth)
		b := append(req.Body()[:0], `{"links":[`...)
		for i := lo; i <= hi; i++ {
			if i > lo {
				b = append(b, ',')
			}
			b = append(b, `{"url":"`...)
			b = append(b, target...)
			b = appendCode(b, i)
			b = append(b, `","code":"`...)
			b = appendCode(b, i)
			b = append(b, `"}`...)
		}
		b = append(b, "]}"...)
		req.SetBodyRaw(b)
		if err := c.DoTimeout(req, resp, timeout); err != nil {
			return fmt.Errorf("bulk %d..%d: %w", lo, hi, err)
		}
		if sc := resp.StatusCode(); sc < 200 || sc > 299 {
			return fmt.Errorf("bulk %d..%d: status %d: %.300s", lo, hi, sc, resp.Body())
		}
		return nil
	})
}

func walk(c *fasthttp.Client, base string, n, conc int, timeout time.Duration) error {
	return run(n, conc, func(_, i int) error {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		uri := appendCode(append(make([]byte, 0, len(base)+16), base+"/"...), i+1)
		req.SetRequestURIBytes(uri)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
		if err := c.DoTimeout(req, resp, timeout); err != nil {
			return fmt.Errorf("GET %s: %w", uri, err)
		}
		if sc := resp.StatusCode(); sc < 300 || sc > 399 {
			return fmt.Errorf("GET %s: status %d, want 30x", uri, sc)
		}
		if !bytes.HasSuffix(resp.Header.Peek("Location"), uri[len(base)+1:]) {
			return fmt.Errorf("GET %s: Location %q", uri, resp.Header.Peek("Location"))
		}
		return nil
	})
}

func waitReady(c *fasthttp.Client, url string, want, pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	for time.Now().Before(deadline) {
		if pid > 0 && !alive(pid) {
			return fmt.Errorf("process %d exited before %s answered %d", pid, url, want)
		}
		req.SetRequestURI(url) // Do, unlike Get, follows no redirect
		err := c.DoTimeout(req, resp, time.Second)
		if err == nil && resp.StatusCode() == want {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("status %d: %.200s", resp.StatusCode(), resp.Body())
		}
		time.Sleep(100 * time.Millisecond) // polling an external process: nothing to wait on
	}
	return fmt.Errorf("%s not ready after %s (last: %s)", url, timeout, last)
}

func createOne(c *fasthttp.Client, base, key, target, code string, timeout time.Duration) error {
	if key == "" {
		return fmt.Errorf("-key is required")
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(base + "/api/v1/links")
	req.Header.SetContentType("application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	req.SetBodyString(fmt.Sprintf(`{"url":%q,"code":%q}`, target+code, code))
	if err := c.DoTimeout(req, resp, timeout); err != nil {
		return fmt.Errorf("create %s: %w", code, err)
	}
	if sc := resp.StatusCode(); sc != fasthttp.StatusCreated {
		return fmt.Errorf("create %s: status %d, want 201: %.300s", code, sc, resp.Body())
	}
	return nil
}

// alive reports whether process pid runs (exists and is not a zombie that
// its parent shell has yet to reap).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state …; comm may contain spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}
