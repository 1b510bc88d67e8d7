package kvhttp_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mahou-go/mahou/internal/testutil"
)

// TestAPI_V2 walks every v2 route and its error paths against the real binary.
func TestAPI_V2(t *testing.T) {
	c := testutil.StartCrush(t)
	a := &api{t: t, base: c.URL()}

	t.Run("put and get", func(t *testing.T) {
		a := a.with(t)
		r := a.put("/v2/kv/app/web/config", "hello").status(200)
		r.has(map[string]string{"key": `"app/web/config"`, "fork": `"default"`, "rev": `0`})
		if r.header.Get("X-Crush-Revision") == "" || r.header.Get("ETag") != `"0"` {
			t.Fatalf("headers %v", r.header)
		}
		g := a.get("/v2/kv/app/web/config").status(200)
		g.has(map[string]string{"key": `"app/web/config"`, "value": q(b64("hello")), "rev": `0`, "deleted": `false`,
			"ancestors": `[]`, "op": `"put"`})
		for _, f := range []string{"revision", "mod_revision", "created_revision", "time"} {
			if g.field(f) == nil {
				t.Fatalf("read lacks %s: %s", f, g.body)
			}
		}
		raw := a.get("/v2/kv/app/web/config", "Accept: application/octet-stream").status(200)
		if string(raw.body) != "hello" || raw.header.Get("X-Crush-Rev") != "0" {
			t.Fatalf("raw read %q %v", raw.body, raw.header)
		}
		a.get("/v2/kv/app/web/config?consistency=serializable").status(200)
		a.get("/v2/kv/app/web/config?consistency=eventually").errIs(400, "invalid_consistency")
		a.get("/v2/kv/missing").errIs(404, "not_found")
		a.get("/v2/kv/app/web/config?fork=b@d").errIs(400, "invalid_fork")
		a.get("/v2/kv/").errIs(400, "invalid_key")
	})
	t.Run("reads at rev, revision and time", func(t *testing.T) {
		a := a.with(t)
		a.put("/v2/kv/tt", "v0").status(200)
		before := time.Now().UTC()
		rev0 := int(a.get("/v2/kv/tt").field("mod_revision").(float64))
		a.put("/v2/kv/tt", "v1").status(200)
		a.get("/v2/kv/tt?rev=0").has(map[string]string{"value": q(b64("v0")), "rev": "0"})
		a.get(fmt.Sprintf("/v2/kv/tt?revision=%d", rev0)).has(map[string]string{"value": q(b64("v0")), "revision": fmt.Sprint(rev0)})
		a.get("/v2/kv/tt?as_of=" + before.Format(time.RFC3339Nano)).has(map[string]string{"value": q(b64("v0"))})
		a.get("/v2/kv/tt?rev=9").errIs(404, "rev_not_found")
		a.get("/v2/kv/tt?revision=999999").errIs(400, "future_revision")
		a.get("/v2/kv/tt?revision=1").errIs(404, "not_found") // tt did not exist yet
		a.get("/v2/kv/tt?rev=x").errIs(400, "invalid_rev")
		a.get("/v2/kv/tt?revision=0").errIs(400, "invalid_revision")
		a.get("/v2/kv/tt?as_of=yesterday").errIs(400, "invalid_as_of")
		a.get("/v2/kv/tt?rev=0&revision=3").errIs(400, "invalid_read_point")
	})
	t.Run("compare and set", func(t *testing.T) {
		a := a.with(t)
		a.put("/v2/kv/cas", "a", "If-None-Match: *").status(200)
		a.put("/v2/kv/cas", "b", "If-None-Match: *").errIs(412, "precondition_failed").has(map[string]string{"current_rev": "0"})
		a.put("/v2/kv/cas", "b", `If-Match: "0"`).status(200).has(map[string]string{"rev": "1"})
		a.put("/v2/kv/cas", "c", "If-Match: 0").errIs(412, "precondition_failed").has(map[string]string{"current_rev": "1"})
		a.put("/v2/kv/cas-new", "c", "If-Match: 0").errIs(412, "precondition_failed").has(map[string]string{"current_rev": "null"})
		a.put("/v2/kv/cas", "c", "If-Match: one").errIs(400, "invalid_if_match")
		a.put("/v2/kv/cas", "c", "If-None-Match: 3").errIs(400, "invalid_if_none_match")
		a.do(http.MethodDelete, "/v2/kv/cas", nil, "If-Match: 0").errIs(412, "precondition_failed")
	})
	t.Run("delete, tombstone and purge", func(t *testing.T) {
		a := a.with(t)
		a.put("/v2/kv/d", "x").status(200)
		a.do(http.MethodDelete, "/v2/kv/d", nil).status(200).has(map[string]string{"rev": "1", "purged": "false"})
		a.get("/v2/kv/d").errIs(404, "not_found").has(map[string]string{"deleted": "true", "rev": "1"})
		a.get("/v2/kv/d?rev=0").has(map[string]string{"value": q(b64("x"))})
		a.do(http.MethodDelete, "/v2/kv/d", nil).errIs(404, "not_found")
		a.do(http.MethodDelete, "/v2/kv/d?purge=true", nil).status(200).has(map[string]string{"purged": "true"})
		a.get("/v2/history/d").errIs(404, "not_found")
		a.do(http.MethodDelete, "/v2/kv/d?purge=maybe", nil).errIs(400, "invalid_purge")
	})
	t.Run("history paging", func(t *testing.T) {
		a := a.with(t)
		for i := 0; i < 5; i++ {
			a.put("/v2/kv/h", strings.Repeat("x", i)).status(200)
		}
		r := a.get("/v2/history/h?limit=2").status(200).has(map[string]string{"next": "3"})
		if h := r.field("history").([]any); len(h) != 2 || h[0].(map[string]any)["rev"].(float64) != 4 || h[1].(map[string]any)["size"].(float64) != 3 {
			t.Fatalf("history page %s", r.body)
		}
		r = a.get("/v2/history/h?limit=10&before_rev=3").has(map[string]string{"next": "null"})
		if h := r.field("history").([]any); len(h) != 3 || h[0].(map[string]any)["op"] != "put" {
			t.Fatalf("history page %s", r.body)
		}
		a.get("/v2/history/h?limit=-1").errIs(400, "invalid_limit")
		a.get("/v2/history/none").errIs(404, "not_found")
	})
	t.Run("diff and revert", func(t *testing.T) {
		a := a.with(t)
		a.put("/v2/kv/df", "test 1").status(200)
		a.put("/v2/kv/df", "test 2").status(200)
		a.get("/v2/diff/df").has(map[string]string{"edits": `[["eq","dGVzdCA="],["del","MQ=="],["ins","Mg=="]]`,
			"from": `{"fork":"default","rev":0,"deleted":false}`, "to": `{"fork":"default","rev":1,"deleted":false}`})
		a.get("/v2/diff/df?from=@1&to=@0&encoding=text").has(map[string]string{"edits": `[["eq","test "],["del","2"],["ins","1"]]`})
		a.get("/v2/diff/df?from=nope@0").errIs(404, "not_found")
		a.get("/v2/diff/df?from=default@x").errIs(400, "invalid_point")
		a.get("/v2/diff/df?encoding=hex").errIs(400, "invalid_encoding")
		a.post("/v2/revert/df?to_rev=0", "").status(200).has(map[string]string{"rev": "2", "reverted_to": "0"})
		a.get("/v2/kv/df").has(map[string]string{"value": q(b64("test 1")), "op": `"revert"`})
		a.post("/v2/revert/df", "").errIs(400, "invalid_to_rev")
		a.post("/v2/revert/df?to_rev=99", "").errIs(404, "rev_not_found")
	})
	t.Run("fork, forks and merge", func(t *testing.T) {
		a := a.with(t)
		a.put("/v2/kv/svc/a", "a0").status(200)
		a.put("/v2/kv/svc/b", "b0").status(200)
		a.post("/v2/fork", `{"from":"default","to":"staging","prefix":"svc/"}`).status(200)
		a.post("/v2/fork", `{"from":"default","to":"staging","prefix":"svc/"}`).errIs(409, "target_exists").has(map[string]string{"keys": `["svc/a","svc/b"]`})
		a.post("/v2/fork", `{"from":"default","to":"staging","key":"svc/a","force":true}`).status(200)
		a.post("/v2/fork", `{"from":"default","to":"x","key":"svc/a","prefix":"svc/"}`).errIs(400, "invalid_target")
		a.post("/v2/fork", `{"from":"default","to":"default","key":"svc/a"}`).errIs(400, "invalid_fork")
		a.post("/v2/fork", `{"from":"default","to":"x","key":"svc/a","extra":1}`).errIs(400, "invalid_json")
		a.post("/v2/fork", `{"from":"default","to":"x","key":"nope"}`).errIs(404, "source_not_found")
		a.post("/v2/fork", ``).errIs(400, "invalid_json")
		f := a.get("/v2/forks").status(200)
		if !strings.Contains(string(f.body), `"name":"staging"`) || !strings.Contains(string(f.body), `"prefix":"svc/"`) {
			t.Fatalf("forks %s", f.body)
		}
		a.put("/v2/kv/svc/a?fork=staging", "a1").status(200)
		a.put("/v2/kv/svc/b?fork=staging", "b1").status(200)
		a.put("/v2/kv/svc/b", "b-main").status(200)
		r := a.post("/v2/merge", `{"from":"staging","to":"default","prefix":"svc/"}`).errIs(409, "conflict")
		if cs := r.field("conflicts").([]any); len(cs) != 1 || cs[0].(map[string]any)["key"] != "svc/b" {
			t.Fatalf("conflicts %s", r.body)
		}
		a.get("/v2/kv/svc/a").has(map[string]string{"value": q(b64("a0"))}) // nothing applied
		a.post("/v2/merge", `{"from":"staging","to":"default","prefix":"svc/","strategy":"target-wins"}`).status(200)
		a.get("/v2/kv/svc/a").has(map[string]string{"value": q(b64("a1")), "op": `"merge"`})
		a.get("/v2/kv/svc/b").has(map[string]string{"value": q(b64("b-main"))})
		a.post("/v2/merge", `{"from":"staging","to":"default","key":"svc/b","strategy":"source-wins"}`).status(200)
		a.get("/v2/kv/svc/b").has(map[string]string{"value": q(b64("b1"))})
		a.post("/v2/merge", `{"from":"staging","to":"default","key":"svc/b","strategy":"ours"}`).errIs(400, "invalid_strategy")
	})
	t.Run("txn", func(t *testing.T) {
		a := a.with(t)
		a.put("/v2/kv/lock", "free").status(200)
		body := `{"compare":[{"key":"lock","target":"value","op":"=","value":"` + b64("free") + `"}],
			"then":[{"op":"put","key":"lock","value":"` + b64("held") + `"},{"op":"get","key":"lock"}],
			"else":[{"op":"get","key":"lock"}]}`
		r := a.post("/v2/txn", body).status(200).has(map[string]string{"succeeded": "true"})
		if res := r.field("results").([]any); len(res) != 2 || res[1].(map[string]any)["record"].(map[string]any)["value"] != b64("held") {
			t.Fatalf("txn %s", r.body)
		}
		a.post("/v2/txn", body).status(200).has(map[string]string{"succeeded": "false"})
		a.post("/v2/txn", `{"compare":[{"key":"lock","target":"color","op":"="}]}`).errIs(400, "invalid_compare")
		a.post("/v2/txn", `{"then":[{"op":"put","key":"a"},{"op":"delete","key":"a"}]}`).errIs(400, "duplicate_key")
		a.post("/v2/txn", `{"then":[{"op":"upsert","key":"a"}]}`).errIs(400, "invalid_txn_op")
	})
	t.Run("keys", func(t *testing.T) {
		a := a.with(t)
		for _, k := range []string{"ls/a", "ls/b", "ls/c"} {
			a.put("/v2/kv/"+k, "v").status(200)
		}
		rev := a.get("/v2/kv/ls/b").field("mod_revision").(float64)
		a.get("/v2/keys?prefix=ls/&limit=2").has(map[string]string{"keys": `["ls/a","ls/b"]`, "next": `"ls/b"`})
		a.get("/v2/keys?prefix=ls/&after=ls/b").has(map[string]string{"keys": `["ls/c"]`, "next": "null"})
		a.get(fmt.Sprintf("/v2/keys?prefix=ls/&revision=%d", int(rev))).has(map[string]string{"keys": `["ls/a","ls/b"]`})
		a.get("/v2/keys?prefix=ls/&limit=x").errIs(400, "invalid_limit")
	})
	t.Run("compaction and retention", func(t *testing.T) {
		a := a.with(t)
		a.put("/v2/kv/cp", "1").status(200)
		a.put("/v2/kv/cp", "2").status(200)
		rev := int(a.get("/v2/kv/cp").field("mod_revision").(float64))
		a.post("/v2/compact", fmt.Sprintf(`{"revision":%d}`, rev)).status(200).has(map[string]string{"compacted_revision": fmt.Sprint(rev)})
		a.get("/v2/kv/cp?rev=0").errIs(410, "compacted")
		a.get(fmt.Sprintf("/v2/kv/cp?revision=%d", rev-1)).errIs(410, "compacted").has(map[string]string{"compacted_revision": fmt.Sprint(rev)})
		a.get("/v2/watch?from_revision=1").errIs(410, "compacted")
		a.post("/v2/compact", `{"revision":0}`).errIs(400, "invalid_revision")
		a.post("/v2/compact", `{"revision":99999999}`).errIs(400, "future_revision")
		a.do(http.MethodPut, "/v2/retention", []byte(`{"keep_revs":50,"keep_duration":"720h"}`)).status(200).has(map[string]string{"keep_revs": "50", "keep_duration": `"720h0m0s"`})
		a.get("/v2/retention").status(200).has(map[string]string{"keep_revs": "50", "keep_duration": `"720h0m0s"`})
		a.do(http.MethodPut, "/v2/retention", []byte(`{"keep_duration":"soon"}`)).errIs(400, "invalid_retention")
		a.do(http.MethodPut, "/v2/retention", []byte(`{"keep_revs":-1}`)).errIs(400, "invalid_retention")
	})
	t.Run("status, health, metrics, unknown routes", func(t *testing.T) {
		a := a.with(t)
		s := a.get("/v2/status").status(200)
		raft := s.field("raft").(map[string]any)
		if raft["state"] != "leader" || len(raft["members"].([]any)) != 1 {
			t.Fatalf("status %s", s.body)
		}
		a.get("/healthz").is(200, `{"status":"ok"}`)
		a.get("/readyz").is(200, `{"status":"ready"}`)
		m := a.get("/metrics").status(200)
		for _, name := range []string{"crush_http_requests_total", "crush_raft_state", "crush_store_revision", "go_goroutines"} {
			if !strings.Contains(string(m.body), name) {
				t.Fatalf("metrics lack %s", name)
			}
		}
		a.get("/v2/nothing").errIs(404, "route_not_found")
		a.do(http.MethodPost, "/v2/kv/x", nil).errIs(405, "method_not_allowed")
		a.do(http.MethodDelete, "/v2/fork", nil).errIs(405, "method_not_allowed")
	})
	t.Run("limits", func(t *testing.T) {
		a := a.with(t)
		a.put("/v2/kv/big", strings.Repeat("x", 1536*1024+1)).errIs(413, "value_too_large")
		a.put("/v2/kv/"+strings.Repeat("k", 4097), "x").errIs(400, "key_too_large")
		a.post("/v2/txn", `{"then":[{"op":"put","key":"a","value":"`+strings.Repeat("A", 5<<20)+`"}]}`).errIs(413, "body_too_large")
		a.put("/v2/kv/%ff", "x").errIs(400, "invalid_key")
	})
}
