package gateway

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/minibitly/minibitly/internal/webui"
	"github.com/valyala/fasthttp"
)

// The web UI lives under /ui/ (a code "ui" is reserved); "/" sends a
// browser there. Files are read from the embedded build once, at New, and
// answered from memory, gzipped when the client accepts it.
const (
	uiRoot = "/ui/"
	// Hashed assets never change under their name.
	uiImmutable = "public, max-age=31536000, immutable"
	// index.html names the current hashed assets: always revalidate.
	uiRevalidate = "no-cache"
	// The UI loads nothing from elsewhere: scripts, styles and images
	// are its own (images also as blob: for the QR download), and it
	// talks only to this origin.
	uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
		"font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

var uiPrefix = []byte("/ui")

// uiFile is one file of the UI, ready to write.
type uiFile struct {
	body, gzipped []byte
	contentType   string
	cacheControl  string
	etag          string
}

// uiFiles maps paths below /ui/ ("index.html", "assets/app-HASH.js") to
// their file.
type uiFiles map[string]*uiFile

// embeddedUI is the UI built into the binary, loaded (and gzipped) once per
// process and shared by every Server: it is never modified after loading.
var embeddedUI = sync.OnceValues(func() (uiFiles, error) { return loadUI(webui.Assets()) })

// loadUI reads every file of fsys into memory.
func loadUI(fsys fs.FS) (uiFiles, error) {
	files := uiFiles{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		f := &uiFile{body: body, contentType: ct, cacheControl: uiImmutable,
			etag: etagOf(body)}
		if p == "index.html" {
			f.cacheControl = uiRevalidate
		}
		if len(body) > 512 && compressible(ct) {
			var b bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			if _, err := zw.Write(body); err != nil {
				return err
			}
			if err := zw.Close(); err != nil {
				return err
			}
			f.gzipped = b.Bytes()
		}
		files[p] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load web ui: %w", err)
	}
	if files["index.html"] == nil {
		return nil, fmt.Errorf("load web ui: no index.html")
	}
	return files, nil
}

func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript") ||
		strings.Contains(ct, "json") || strings.Contains(ct, "svg")
}

// serveWeb answers the routes of the browser side that are not the API:
// "/" (to the base-URL redirect or the UI), /ui and /ui/* and /{code}/qr-code. It reports false for
// any other path, which handle() then treats as a redirect; it costs the
// redirect two length checks and one suffix compare.
func (s *Server) serveWeb(ctx *fasthttp.RequestCtx, p []byte) bool {
	switch {
	case len(p) == 1:
		if ctx.IsGet() || ctx.IsHead() {
			s.recordCode(ctx, orphanCodeBaseURL, s.d.Clock.Unix()) // an orphan visit: orphan_visits.go
		}
		if loc := s.specialRedirect().base; loc != nil { // special_redirects.go
			writeSpecialRedirect(ctx, loc)
			break
		}
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.Redirect(uiRoot, http.StatusFound)
	case bytes.HasPrefix(p, uiPrefix) && (len(p) == len(uiPrefix) || p[len(uiPrefix)] == '/'):
		s.serveUI(ctx, string(p[len(uiPrefix):]))
	default:
		code, ok := isQRPath(p)
		if !ok {
			return false
		}
		s.serveQRCode(ctx, code)
	}
	return true
}

// serveUI answers /ui and rest below it: a file of the build, or
// index.html for any other path (the UI routes on the client) except
// missing files under assets/, which are 404.
func (s *Server) serveUI(ctx *fasthttp.RequestCtx, rest string) {
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		s.writeError(ctx, errorf(http.StatusMethodNotAllowed, "method_not_allowed", "the web UI answers GET and HEAD only"))
		return
	}
	if rest == "" {
		ctx.Redirect(uiRoot, http.StatusMovedPermanently)
		return
	}
	f := s.ui[strings.TrimPrefix(rest, "/")]
	if f == nil {
		if strings.HasPrefix(rest, "/assets/") {
			s.writeError(ctx, errorf(http.StatusNotFound, "not_found", "no such file: /ui"+rest))
			return
		}
		f = s.ui["index.html"]
	}
	h := &ctx.Response.Header
	h.Set("Cache-Control", f.cacheControl)
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Vary", "Accept-Encoding")
	if f.contentType == "text/html; charset=utf-8" {
		h.Set("Content-Security-Policy", uiCSP)
	}
	ctx.SetContentType(f.contentType)
	if string(ctx.Request.Header.Peek("If-None-Match")) == f.etag {
		ctx.SetStatusCode(http.StatusNotModified)
		return
	}
	if f.gzipped != nil && ctx.Request.Header.HasAcceptEncoding("gzip") {
		h.Set("Content-Encoding", "gzip")
		ctx.SetBody(f.gzipped)
		return
	}
	ctx.SetBody(f.body)
}
