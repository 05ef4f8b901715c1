// Package ui is Sluice's web page: a live list of sessions, a session's
// conversation as it streams (text, thinking, tool calls, errors), usage
// and cost per model, a waterfall of steps, a raw event inspector and a
// replay of the log, in one small page of hand-written HTML, CSS and
// JavaScript embedded in the binary (no Node is needed to build it).
//
// The page talks only to the server's public API: it hydrates a session
// from GET /v1/sessions/{id}/timeline and follows
// /v1/sessions/{id}/stream?after=SEQ with fetch streaming, so that an API
// key travels in the Authorization header and never in a URL. The key is
// kept in the tab's sessionStorage.
//
// The server (package server) answers GET / with Page for browsers.
package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"net/http"
	"strings"
)

//go:embed static/index.html static/app.css static/app.js
var static embed.FS

var page, csp = build()

// build inlines the style and the script into the page, so that it is one
// response, and makes the Content-Security-Policy that allows exactly
// them.
func build() ([]byte, string) {
	read := func(name string) string {
		b, err := static.ReadFile("static/" + name)
		if err != nil {
			panic(err) // embedded at build time
		}
		return string(b)
	}
	css, js := read("app.css"), read("app.js")
	html := strings.Replace(read("index.html"), "/*STYLE*/", css, 1)
	html = strings.Replace(html, "/*SCRIPT*/", js, 1)
	hash := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
	}
	policy := "default-src 'none'; script-src " + hash(js) + "; style-src " + hash(css) +
		"; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return []byte(html), policy
}

// Page returns the page's HTML, with its style and script inlined.
func Page() []byte { return page }

// ServePage answers a request with the page and the headers it needs: a
// Content-Security-Policy that allows only its own script and style and
// requests to its own origin, no caching of a stale copy, and no framing.
func ServePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(page)
}
