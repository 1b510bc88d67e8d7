package kvhttp

import (
	"bytes"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/mahou-go/mahou/kv"
)

// FuzzParseRevisions checks crush's revisions parameter parser: never a panic, never a
// negative count, and a plain number reads as itself.
func FuzzParseRevisions(f *testing.F) {
	for _, s := range []string{"", "all", "3", "3abc", "-1", "+5", "x", "99999999999999999999999", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, all, err := parseRevisions(s)
		if err != nil {
			if !strings.HasPrefix(strings.TrimPrefix(s, "+"), "-") {
				t.Fatalf("parseRevisions(%q): error %v for a non-negative input", s, err)
			}
			return
		}
		if n < 0 || all && s != "all" {
			t.Fatalf("parseRevisions(%q) = %d, %v", s, n, all)
		}
		if v, perr := strconv.ParseInt(s, 10, 64); perr == nil && v >= 0 && v != n {
			t.Fatalf("parseRevisions(%q) = %d, want %d", s, n, v)
		}
	})
}

// FuzzV1Path checks that the v1 router's path splitting never panics and yields only
// non-empty segments.
func FuzzV1Path(f *testing.F) {
	for _, s := range []string{"/", "/k", "/k/f/info", "/k/%2F/x", "/%zz", "//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		segs, ok := pathSegments(p)
		if !ok {
			return
		}
		for _, s := range segs {
			if s == "" {
				t.Fatalf("pathSegments(%q) has an empty segment", p)
			}
		}
	})
}

// FuzzReadPoint checks the rev/revision/as_of parser on arbitrary query strings.
func FuzzReadPoint(f *testing.F) {
	for _, s := range []string{"rev=1", "revision=3", "as_of=2026-01-02T15:04:05Z", "rev=1&revision=2", "rev=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		if _, err := url.ParseQuery(rawQuery); err != nil {
			return
		}
		r := httptest.NewRequest("GET", "/v2/kv/k?"+url.PathEscape(rawQuery), nil)
		r.URL.RawQuery = rawQuery
		at, err := readPoint(r)
		if err == nil && at.Revision < 0 {
			t.Fatalf("readPoint(%q) = negative revision %d", rawQuery, at.Revision)
		}
	})
}

func fuzzHandler() *Handler {
	return &Handler{cfg: Config{MaxBodyBytes: DefaultMaxBodyBytes}, limits: kv.Limits{}.WithDefaults()}
}

// FuzzV2Bodies feeds arbitrary bytes to the JSON request bodies of fork, merge, txn, compact and
// retention: they decode to a clear error or to a request that validates without panicking.
func FuzzV2Bodies(f *testing.F) {
	for _, s := range []string{
		`{"from":"default","to":"x","key":"k"}`,
		`{"from":"a","to":"b","prefix":"p/","revision":3,"force":true}`,
		`{"from":"a","to":"b","key":"k","strategy":"three-way"}`,
		`{"compare":[{"key":"k","target":"rev","op":"=","number":1}],"then":[{"op":"put","key":"k","value":"dg=="}]}`,
		`{"revision":5}`, `{"keep_revs":3,"keep_duration":"1h"}`, `{}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	h := fuzzHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		var fr forkRequest
		if decodeJSON(bytes.NewReader(body), &fr, DefaultMaxBodyBytes) == nil {
			_, _, _, _ = h.target(fr.Key, fr.Prefix)
			_ = h.forkPair(fr.From, fr.To)
		}
		var mr mergeRequest
		if decodeJSON(bytes.NewReader(body), &mr, DefaultMaxBodyBytes) == nil {
			_, _, _, _ = h.target(mr.Key, mr.Prefix)
		}
		var tr txnRequest
		if decodeJSON(bytes.NewReader(body), &tr, DefaultMaxBodyBytes) == nil {
			if txn, err := h.toTxn(tr); err == nil {
				for _, c := range txn.Compare {
					if c.Key == "" || c.Fork == "" {
						t.Fatalf("toTxn accepted a compare without key or fork: %+v", c)
					}
				}
			}
		}
		var rj retentionJSON
		_ = decodeJSON(bytes.NewReader(body), &rj, DefaultMaxBodyBytes)
	})
}
