package kvhttp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mahou-go/mahou/internal/testutil"
)

// TestAPI_V1 walks every route of the original crush API against the real binary, including
// the cases of crush's own test suite and the fixes of its bugs.
func TestAPI_V1(t *testing.T) {
	c := testutil.StartCrush(t)
	a := &api{t: t, base: c.URL()}

	t.Run("crush test suite: revisions as patches and values", func(t *testing.T) {
		a := a.with(t)
		a.put("/test", "test 1").is(200, `{"status":"ok"}`)
		a.put("/test", "test 2").is(200, `{"status":"ok"}`)
		a.get("/test").is(200, `["`+b64("test 2")+`",[]]`)
		a.get("/test?revisions=all").is(200, `["dGVzdCAy",[[["eq","dGVzdCA="],["del","Mg=="],["ins","MQ=="]]]]`)
		a.get("/test?revisions=all&patch=true").is(200, `["dGVzdCAy",["dGVzdCAx"]]`)
		a.put("/value", "value").status(200)
		a.put("/value", "value 2").status(200)
		a.get("/value?revisions=1").is(200, `["`+b64("value 2")+`",[[["eq","dmFsdWU="],["del","IDI="]]]]`)
	})
	t.Run("revisions parameter", func(t *testing.T) {
		a := a.with(t)
		for _, v := range []string{"a", "b", "c", "d"} {
			a.put("/rp", v).status(200)
		}
		a.get("/rp?revisions=2&patch=true").is(200, `["`+b64("d")+`",["`+b64("c")+`","`+b64("b")+`"]]`)
		a.get("/rp?revisions=2abc&patch=true").is(200, `["`+b64("d")+`",["`+b64("c")+`","`+b64("b")+`"]]`)
		a.get("/rp?revisions=99&patch=true").is(200, `["`+b64("d")+`",["`+b64("c")+`","`+b64("b")+`","`+b64("a")+`"]]`)
		a.get("/rp?revisions=x&patch=true").is(200, `["`+b64("d")+`",[]]`)
		a.get("/rp?revisions=").is(200, `["`+b64("d")+`",[]]`)
		a.get("/rp?revisions=all&patch=TRUE").status(200) // only "true" means patch
		a.get("/rp?revisions=-1").errIs(400, "invalid_revisions").has(map[string]string{"status": `"error"`})
	})
	t.Run("missing key reads as empty list", func(t *testing.T) {
		a := a.with(t)
		a.get("/nope").is(200, `[]`)
		a.get("/nope?revisions=all").is(200, `[]`)
		a.get("/nope/somefork").is(200, `[]`)
	})
	t.Run("binary values", func(t *testing.T) {
		a := a.with(t)
		bin := string([]byte{0, 0xff, 0xfe, 'x', 0})
		a.put("/bin", bin).status(200)
		a.get("/bin").is(200, `["`+b64(bin)+`",[]]`)
		a.put("/empty", "").status(200)
		a.get("/empty").is(200, `["",[]]`)
	})
	t.Run("forks by path and query", func(t *testing.T) {
		a := a.with(t)
		a.put("/fk/f1", "in f1").status(200)
		a.put("/fk?fork=f2", "in f2").status(200)
		a.get("/fk/f1").is(200, `["`+b64("in f1")+`",[]]`)
		a.get("/fk?fork=f2").is(200, `["`+b64("in f2")+`",[]]`)
		a.get("/fk/f2?fork=f1").is(200, `["`+b64("in f2")+`",[]]`) // the path wins
		a.get("/fk").is(200, `[]`)
		a.get("/fk/bad:fork").errIs(400, "invalid_fork")
	})
	t.Run("info routes, including the one crush shadowed", func(t *testing.T) {
		a := a.with(t)
		a.put("/inf", "1").status(200)
		a.put("/inf", "2").status(200)
		a.get("/inf/info").is(200, `{"key":"inf","revision_count":1}`)
		a.get("/inf/default/info").is(200, `{"key":"inf","revision_count":1}`)
		a.get("/absent/info").is(200, `{"key":"absent","revision_count":0}`)
	})
	t.Run("delete keeps a tombstone and is idempotent", func(t *testing.T) {
		a := a.with(t)
		a.put("/del", "x").status(200)
		a.do(http.MethodDelete, "/del", nil).is(200, `{"status":"ok"}`)
		a.get("/del").is(200, `[]`)
		a.do(http.MethodDelete, "/del", nil).is(200, `{"status":"ok"}`)
		a.do(http.MethodDelete, "/never", nil).is(200, `{"status":"ok"}`)
		a.get("/v2/kv/del?rev=0").status(200).has(map[string]string{"value": q(b64("x"))})
	})
	t.Run("fork", func(t *testing.T) {
		a := a.with(t)
		a.put("/cfg", "v1").status(200)
		a.put("/cfg", "v2").status(200)
		a.post("/cfg/default/fork/canary", "").is(200, `{"status":"ok"}`)
		a.get("/cfg/canary?revisions=all&patch=true").is(200, `["`+b64("v2")+`",["`+b64("v1")+`"]]`)
		a.get("/v2/kv/cfg?fork=canary").has(map[string]string{"ancestors": `[{"fork":"default","rev":1}]`, "op": `"fork"`})
		a.post("/cfg/default/fork/canary", "").errIs(409, "target_exists").has(map[string]string{"status": `"error"`})
		a.post("/missing/default/fork/canary", "").errIs(404, "not_found").has(map[string]string{"status": `"error"`})
	})
	t.Run("merge overwrites the target, also a fork made by PUT", func(t *testing.T) {
		a := a.with(t)
		a.put("/m", "main").status(200)
		a.put("/m/byput", "other").status(200) // crush answered 500 merging into this
		a.post("/m/default/merge/byput", "").is(200, `{"status":"ok"}`)
		a.get("/m/byput?revisions=all&patch=true").is(200, `["`+b64("main")+`",["`+b64("other")+`"]]`)
		a.get("/v2/kv/m?fork=byput").has(map[string]string{"ancestors": `[{"fork":"default","rev":0}]`, "op": `"merge"`})
		a.post("/m/default/merge/nowhere", "").errIs(404, "target_not_found")
		a.post("/nothing/default/merge/byput", "").errIs(404, "source_not_found")
	})
	t.Run("keys", func(t *testing.T) {
		a := a.with(t)
		a.put("/app:one", "1").status(200)
		a.put("/app:two", "2").status(200)
		a.put("/app:three/f9", "3").status(200)
		a.get("/keys?prefix=app:").is(200, `["default:app:one","default:app:two"]`)
		a.get("/keys?prefix=app:&fork=f9").is(200, `["f9:app:three"]`)
	})
	t.Run("limits and unknown routes", func(t *testing.T) {
		a := a.with(t)
		big := strings.Repeat("x", 1536*1024+1)
		a.put("/big", big).errIs(413, "value_too_large")
		a.put("/"+strings.Repeat("k", 5000), "x").errIs(400, "key_too_large")
		a.do(http.MethodPost, "/a/b/c", nil).status(404).has(map[string]string{"errors": `{"detail":"Not Found"}`})
		a.do(http.MethodPatch, "/a", nil).status(404)
		a.get("/").status(404)
		a.do(http.MethodHead, "/test", nil).status(200)
	})
}
