// Command bare is the baseline for `make bench`: a fasthttp server that
// answers GET|HEAD /{code} with the same redirect the minibitly node sends
// for a near-cache hit (302, Location, Cache-Control: private, max-age=0,
// no Server or Content-Type header) from a plain Go map, and nothing else.
// The ratio node/bare measured in one run is the cost of everything the
// node does beyond that (metrics, visit counting, classification, cache).
//
//	bare -addr 127.0.0.1:18080 -n 1000          # codes c0000001 … c0001000
//	bare -addr 127.0.0.1:18080 -n 0 -codes codes.txt # one code per line
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address")
	codesFile := flag.String("codes", "", "file with one code per line, served in addition to the -n codes")
	n := flag.Int("n", 1000, "number of deterministic codes c0000001, c0000002, …")
	target := flag.String("target", "https://example.com/", "redirect target prefix; the code is appended")
	flag.Parse()

	links, err := loadLinks(*codesFile, *n, *target)
	if err != nil {
		log.Fatalf("bare: %v", err)
	}
	srv := &fasthttp.Server{
		Handler:               handler(links),
		Name:                  "minibitly",
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
	}
	log.Printf("bare: %d codes, listening on %s", len(links), *addr)
	if err := srv.ListenAndServe(*addr); err != nil {
		log.Fatalf("bare: %v", err)
	}
}

// code returns the i-th deterministic bench code: c0000001 for i = 1.
func code(i int) string { return fmt.Sprintf("c%07d", i) }

func loadLinks(file string, n int, target string) (map[string][]byte, error) {
	links := make(map[string][]byte, n)
	for i := 1; i <= n; i++ {
		c := code(i)
		links[c] = []byte(target + c)
	}
	if file == "" {
		return links, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("open codes: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.TrimSpace(sc.Text())
		if c != "" {
			links[c] = []byte(target + c)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read codes %s: %w", file, err)
	}
	return links, nil
}

var (
	hdrLocation     = []byte("Location")
	hdrCacheControl = []byte("Cache-Control")
	cacheControl    = []byte("private, max-age=0")
)

func handler(links map[string][]byte) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if !ctx.IsGet() && !ctx.IsHead() {
			ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
			return
		}
		p := ctx.Path()
		if len(p) < 2 {
			ctx.SetStatusCode(fasthttp.StatusNotFound)
			return
		}
		loc, ok := links[string(p[1:])] // map index with string(b) does not allocate
		if !ok {
			ctx.SetStatusCode(fasthttp.StatusNotFound)
			return
		}
		ctx.Response.SetStatusCode(fasthttp.StatusFound)
		h := &ctx.Response.Header
		h.SetCanonical(hdrLocation, loc)
		h.SetCanonical(hdrCacheControl, cacheControl)
	}
}
