// Package web serves the operations dashboard: the single-page app built from web/app (npm, Vite)
// into web/dist, embedded in the hub's binary so that `hub serve` needs no files beside it and the
// page needs nothing from the internet. The page talks only to the public GraphQL API, with the
// API key its user enters.
//
// web/dist is committed; CI rebuilds it from web/app and fails when it differs (README,
// "Dashboard").
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// ContentSecurityPolicy is sent with every file: scripts and styles from the hub only, network
// access to the hub only (its /graphql, over HTTP and websocket), no framing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Handler serves the dashboard: index.html at / (never cached, so a new hub's page is picked up
// at once) and the content-hashed files under /assets/ (cached for a year). Anything else is 404:
// the app routes with the URL's fragment, so the server has no paths of its own to fall back on.
func Handler() http.Handler {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return &handler{files: files}
}

type handler struct {
	files fs.FS
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	immutable := strings.HasPrefix(name, "assets/")
	if name == "" {
		name = "index.html"
	}
	if name != "index.html" && !immutable {
		http.NotFound(w, r)
		return
	}
	if _, err := fs.Stat(h.files, name); err != nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	if immutable {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	// ServeFileFS sets the type from the extension and answers HEAD and ranges.
	http.ServeFileFS(w, r, h.files, name)
}
