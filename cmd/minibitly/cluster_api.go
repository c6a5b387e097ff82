package main

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/minibitly/minibitly/cluster"
	"github.com/valyala/fasthttp"
)

type memberJSON struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	HTTPAddr   string `json:"http_addr"`
	RemoteAddr string `json:"remote_addr"`
}

func toMemberJSON(m cluster.Member) memberJSON {
	return memberJSON{Name: m.Name, Status: m.Status, HTTPAddr: m.HTTPAddr, RemoteAddr: m.RemoteAddr}
}

// clusterAPI serves GET /api/v1/cluster and GET /api/v1/cluster/owner/{code}
// (the gateway has authenticated the request already). With no cluster it
// answers for a single node.
func clusterAPI(cn *cluster.Node, self memberJSON) func(ctx *fasthttp.RequestCtx) bool {
	return func(ctx *fasthttp.RequestCtx) bool {
		path := string(ctx.Path())
		rest, ok := strings.CutPrefix(path, "/api/v1/cluster")
		if !ok || (rest != "" && !strings.HasPrefix(rest, "/owner/")) {
			return false
		}
		if !ctx.IsGet() {
			ctx.Response.Header.Set("Allow", "GET")
			writeJSON(ctx, http.StatusMethodNotAllowed, errBody("method_not_allowed", "only GET is allowed on "+path))
			return true
		}
		if rest == "" {
			body := struct {
				Self    memberJSON   `json:"self"`
				Members []memberJSON `json:"members"`
				Alive   int          `json:"alive"`
			}{Self: self, Members: []memberJSON{self}, Alive: 1}
			if cn != nil {
				body.Self = toMemberJSON(cn.Self())
				body.Members = body.Members[:0]
				for _, m := range cn.Members() {
					body.Members = append(body.Members, toMemberJSON(m))
				}
				body.Alive = cn.Placement().Len()
			}
			writeJSON(ctx, http.StatusOK, body)
			return true
		}
		code := strings.TrimPrefix(rest, "/owner/")
		if code == "" || strings.Contains(code, "/") {
			writeJSON(ctx, http.StatusBadRequest, errBody("invalid_code", "want /api/v1/cluster/owner/{code}"))
			return true
		}
		owner := self
		if cn != nil {
			owner = toMemberJSON(cn.Placement().Owner(code))
		}
		writeJSON(ctx, http.StatusOK, struct {
			Code  string     `json:"code"`
			Owner memberJSON `json:"owner"`
			Self  bool       `json:"self"`
		}{Code: code, Owner: owner, Self: owner.Name == self.Name})
		return true
	}
}

func errBody(code, msg string) any {
	type e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	return struct {
		Error e `json:"error"`
	}{e{code, msg}}
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	_ = json.NewEncoder(ctx).Encode(v)
}
