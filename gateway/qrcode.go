package gateway

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/minibitly/minibitly/internal/shortcode"
	"github.com/minibitly/minibitly/storage"
	qr "github.com/piglig/go-qr"
	"github.com/valyala/fasthttp"
)

// QR code parameters, as Shlink's GET /{shortCode}/qr-code takes them:
// size is the side of the code in pixels (the image is size + 2×margin,
// before rounding to whole modules), margin the quiet border in pixels.
// Shlink clamps an out-of-range size; this gateway refuses it with 400 so a
// caller learns the bounds, and bounds margin too so no request can ask for
// a huge image.
const (
	qrDefaultSize = 300
	qrMinSize     = 50
	qrMaxSize     = 1000
	qrMaxMargin   = 200
	// qrCacheControl: the encoded text (base URL + code) never changes
	// for a code, and codes are never reused.
	qrCacheControl = "public, max-age=3600"
)

var qrSuffix = []byte("/qr-code")

// isQRPath reports whether path is /{code}/qr-code (path has its leading
// slash); code is the segment between.
func isQRPath(path []byte) (code []byte, ok bool) {
	if len(path) <= len(qrSuffix)+1 || !bytes.HasSuffix(path, qrSuffix) {
		return nil, false
	}
	return path[1 : len(path)-len(qrSuffix)], true
}

// qrParams are the parsed query parameters of a QR code request.
type qrParams struct {
	size, margin int
	svg          bool
	ecc          qr.Ecc
}

func parseQRParams(args *fasthttp.Args) (qrParams, error) {
	p := qrParams{size: qrDefaultSize, ecc: qr.Low}
	intArg := func(name string, def, lo, hi int) (int, error) {
		v := args.Peek(name)
		if len(v) == 0 {
			return def, nil
		}
		n, err := strconv.Atoi(string(v))
		if err != nil || n < lo || n > hi {
			return 0, errorf(http.StatusBadRequest, "invalid_"+name,
				name+" must be a whole number of pixels from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
		}
		return n, nil
	}
	var err error
	if p.size, err = intArg("size", qrDefaultSize, qrMinSize, qrMaxSize); err != nil {
		return p, err
	}
	if p.margin, err = intArg("margin", 0, 0, qrMaxMargin); err != nil {
		return p, err
	}
	switch f := strings.ToLower(string(args.Peek("format"))); f {
	case "", "png":
	case "svg":
		p.svg = true
	default:
		return p, errorf(http.StatusBadRequest, "invalid_format", `format must be "png" or "svg"`)
	}
	switch e := strings.ToUpper(string(args.Peek("errorCorrection"))); e {
	case "", "L":
	case "M":
		p.ecc = qr.Medium
	case "Q":
		p.ecc = qr.Quartile
	case "H":
		p.ecc = qr.High
	default:
		return p, errorf(http.StatusBadRequest, "invalid_error_correction", `errorCorrection must be L, M, Q or H`)
	}
	return p, nil
}

// serveQRCode answers GET /{code}/qr-code: the QR code of the link's short
// URL, for existing links that have not expired (public, like the
// redirect; it counts no visit, so a link over its max_visits still has
// one).
func (s *Server) serveQRCode(ctx *fasthttp.RequestCtx, code []byte) {
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		s.writeError(ctx, errorf(http.StatusMethodNotAllowed, "method_not_allowed", "QR codes answer GET and HEAD only"))
		return
	}
	if !shortcode.WellFormed(code) {
		s.writeError(ctx, errorf(http.StatusNotFound, "not_found", "no such link"))
		return
	}
	p, err := parseQRParams(ctx.QueryArgs())
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	now := s.d.Clock.Unix()
	e := s.d.Cache.Get(code, now)
	if e == nil {
		if e, err = s.resolveMiss(string(code)); err != nil {
			s.writeError(ctx, err)
			return
		}
	}
	if e.Gone {
		s.writeError(ctx, storage.ErrNotFound)
		return
	}
	if e.Blocked {
		s.writeError(ctx, errBlocked)
		return
	}
	if e.Disabled {
		s.writeError(ctx, errDisabled)
		return
	}
	if e.Expired(now) { // as its redirect answers (Shlink: only enabled links have a QR code)
		s.writeError(ctx, errorf(http.StatusGone, "link_expired", "this link has expired"))
		return
	}
	q, err := qr.EncodeText(s.shortURLFor(ctx, e.Code), p.ecc)
	if err != nil {
		s.writeError(ctx, errorf(http.StatusUnprocessableEntity, "qr_too_long", "the short URL does not fit in a QR code"))
		return
	}
	m := newQRImage(q, p.size, p.margin)
	ctx.Response.Header.Set("Cache-Control", qrCacheControl)
	if p.svg {
		ctx.SetContentType("image/svg+xml")
		ctx.SetBody(m.appendSVG(nil))
		return
	}
	ctx.SetContentType("image/png")
	ctx.SetBody(m.appendPNG(nil))
}

// shortURLFor is the URL a QR code encodes: the base URL and the code; with
// no base URL, the request's host over http.
func (s *Server) shortURLFor(ctx *fasthttp.RequestCtx, code string) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimSuffix(s.cfg.BaseURL, "/") + "/" + code
	}
	return "http://" + string(ctx.Host()) + "/" + code
}

// qrImage is a QR code drawn at a whole number of pixels per module. It
// holds the module matrix only: appendPNG writes each module row once as a
// 1-bit row and lets zlib compress its repeats, so even the largest image
// (1400 px) costs a 176-byte row, a pooled compressor and the few KB of
// output, not a megabyte of pixels.
type qrImage struct {
	n      int    // modules per side
	dark   []bool // n×n, row-major
	scale  int    // pixels per module
	offset int    // pixels before the first module (margin + rounding)
	side   int    // image side in pixels
}

func newQRImage(q *qr.QrCode, size, margin int) *qrImage {
	n := q.Size()
	m := &qrImage{n: n, dark: make([]bool, n*n)}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			m.dark[y*n+x] = q.Module(x, y)
		}
	}
	// Like Shlink's default (round block size, margin mode): whole pixels
	// per module, the remainder added to the margin.
	m.scale = max(1, size/n)
	inner := max(size, n*m.scale)
	m.side = inner + 2*margin
	m.offset = margin + (inner-n*m.scale)/2
	return m
}

func (m *qrImage) isDark(x, y int) bool {
	x, y = x-m.offset, y-m.offset
	if x < 0 || y < 0 {
		return false
	}
	x, y = x/m.scale, y/m.scale
	return x < m.n && y < m.n && m.dark[y*m.n+x]
}

// appendSVG renders the code as one path of unit squares in module
// coordinates, scaled by the viewBox to the requested pixel size.
func (m *qrImage) appendSVG(b []byte) []byte {
	side := strconv.Itoa(m.side)
	b = append(b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="`+side+`" height="`+side+
		`" viewBox="0 0 `+side+` `+side+`" shape-rendering="crispEdges">`+
		`<rect width="100%" height="100%" fill="#ffffff"/><path fill="#000000" d="`...)
	for y := 0; y < m.n; y++ {
		for x := 0; x < m.n; x++ {
			if !m.dark[y*m.n+x] {
				continue
			}
			run := 1
			for x+run < m.n && m.dark[y*m.n+x+run] {
				run++
			}
			b = append(b, 'M')
			b = strconv.AppendInt(b, int64(m.offset+x*m.scale), 10)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(m.offset+y*m.scale), 10)
			b = append(b, 'h')
			b = strconv.AppendInt(b, int64(run*m.scale), 10)
			b = append(b, 'v')
			b = strconv.AppendInt(b, int64(m.scale), 10)
			b = append(b, 'h')
			b = strconv.AppendInt(b, int64(-run*m.scale), 10)
			b = append(b, 'z')
			x += run - 1
		}
	}
	return append(b, `"/></svg>`+"\n"...)
}

// zlibPool holds BestSpeed compressors: a QR code is long runs of two
// values, which the fastest level already shrinks a hundredfold.
var zlibPool sync.Pool

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// appendPNG encodes the image as a 1-bit grayscale PNG (0 = black,
// 1 = white), every row unfiltered.
func (m *qrImage) appendPNG(b []byte) []byte {
	b = append(b, pngSignature...)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(m.side))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(m.side))
	ihdr[8] = 1 // bit depth; colour type 0 (grayscale), deflate, no filter, no interlace
	b = appendPNGChunk(b, "IHDR", ihdr[:])

	var idat bytes.Buffer
	zw, _ := zlibPool.Get().(*zlib.Writer)
	if zw == nil {
		zw, _ = zlib.NewWriterLevel(&idat, zlib.BestSpeed) // a valid level: cannot fail
	} else {
		zw.Reset(&idat)
	}
	rowLen := 1 + (m.side+7)/8
	row := make([]byte, rowLen) // filter byte 0, then the pixels
	white := func() {
		row[0] = 0
		for i := 1; i < rowLen; i++ {
			row[i] = 0xff
		}
	}
	writeRows := func(n int) {
		for ; n > 0; n-- {
			zw.Write(row) // into a bytes.Buffer: cannot fail
		}
	}
	white()
	writeRows(m.offset)
	for y := 0; y < m.n; y++ {
		white()
		for x := 0; x < m.n; x++ {
			if !m.dark[y*m.n+x] {
				continue
			}
			for px := m.offset + x*m.scale; px < m.offset+(x+1)*m.scale; px++ {
				row[1+px/8] &^= 0x80 >> (px % 8)
			}
		}
		writeRows(m.scale)
	}
	white()
	writeRows(m.side - m.offset - m.n*m.scale)
	zw.Close()
	zlibPool.Put(zw)
	b = appendPNGChunk(b, "IDAT", idat.Bytes())
	return appendPNGChunk(b, "IEND", nil)
}

func appendPNGChunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	start := len(b)
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}
