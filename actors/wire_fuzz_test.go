package actors

import (
	"slices"
	"testing"

	"github.com/minibitly/minibitly/proto/clusterpb"
	"github.com/minibitly/minibitly/storage"
	"google.golang.org/protobuf/proto"
)

// FuzzVisitBatch_RoundTrip: a visit row as the batcher builds it (the
// referrer through cleanReferrer, whatever the visitor's header held)
// always encodes — protobuf refuses strings that are not UTF-8, which
// would strand a batch for another node — and decodes to itself.
func FuzzVisitBatch_RoundTrip(f *testing.F) {
	f.Add("abc123", int64(1_700_000_040), []byte("https://News.Example.com/x"), "mobile", "Chrome", "Android", "DE", false, uint64(3))
	f.Add("x", int64(0), []byte("bad\xff\xfe"), "bot", "", "", "", true, uint64(1<<63))
	f.Add("~orphan", int64(-60), []byte("ab\xc3"), "", "Firefox", "Windows", "", false, uint64(0))
	f.Fuzz(func(t *testing.T, code string, minute int64, header []byte, device, browser, os, country string, bot bool, visits uint64) {
		// Codes, dimensions and countries come from validators and the
		// classifier, which only produce ASCII; only the referrer is raw.
		for _, s := range []string{code, device, browser, os, country} {
			for i := 0; i < len(s); i++ {
				if s[i] >= 0x80 {
					t.Skip()
				}
			}
		}
		row := storage.VisitCount{VisitKey: storage.VisitKey{
			Code: code, Minute: minute, Referrer: string(cleanReferrer(nil, header)),
			Device: device, Browser: browser, OS: os, Country: country, Bot: bot,
		}, Visits: visits}
		in := &clusterpb.VisitBatch{From: "node-a", Seq: 7, Rows: rowsToProto([]storage.VisitCount{row, row})}
		b, err := proto.Marshal(in)
		if err != nil {
			t.Fatalf("a batcher-built row does not encode: %v (%+v)", err, row)
		}
		var out clusterpb.VisitBatch
		if err := proto.Unmarshal(b, &out); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if got := rowsFromProto(out.Rows); !slices.Equal(got, []storage.VisitCount{row, row}) || out.Seq != 7 || out.From != "node-a" {
			t.Fatalf("round trip: %+v, want %+v", got, row)
		}
	})
}

// FuzzVisitBatch_Decode: whatever bytes arrive as a batch, decoding either
// fails or yields rows that encode again and decode to the same rows.
func FuzzVisitBatch_Decode(f *testing.F) {
	good, _ := proto.Marshal(&clusterpb.VisitBatch{From: "n", Seq: 1, Rows: []*clusterpb.VisitRow{{Code: "abc", Minute: 60, Visits: 2}}})
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m clusterpb.VisitBatch
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		rows := rowsFromProto(m.Rows)
		re, err := proto.Marshal(&clusterpb.VisitBatch{From: m.From, Seq: m.Seq, Rows: rowsToProto(rows), DeadlineUnixMs: m.DeadlineUnixMs})
		if err != nil {
			t.Fatalf("decoded rows do not encode again: %v", err)
		}
		var m2 clusterpb.VisitBatch
		if err := proto.Unmarshal(re, &m2); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rowsFromProto(m2.Rows), rows) {
			t.Fatal("re-encoded rows differ")
		}
	})
}
