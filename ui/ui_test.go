package ui_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/ui"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The page is one response: its style and script are inlined, and the
// Content-Security-Policy allows exactly them (by hash) and requests to
// its own origin, so an injected script or style would not run.
func TestPagePolicy(t *testing.T) {
	w := httptest.NewRecorder()
	ui.ServePage(w, httptest.NewRequest("GET", "/", nil))
	page, csp := w.Body.String(), w.Header().Get("Content-Security-Policy")
	if strings.Contains(page, "/*STYLE*/") || strings.Contains(page, "/*SCRIPT*/") {
		t.Fatal("the page still has a placeholder")
	}
	for _, tag := range []string{"script", "style"} {
		m := regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllStringSubmatch(page, -1)
		if len(m) != 1 {
			t.Fatalf("%d <%s> elements, want 1", len(m), tag)
		}
		h := sha256.Sum256([]byte(m[0][1]))
		if want := tag + "-src 'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"; !strings.Contains(csp, want) {
			t.Errorf("the policy %q lacks %q", csp, want)
		}
	}
	for _, want := range []string{"default-src 'none'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("the policy %q lacks %q", csp, want)
		}
	}
	// Event data reaches the page only as text.
	if strings.Contains(page, "innerHTML") || strings.Contains(page, "insertAdjacentHTML") || strings.Contains(page, "document.write") {
		t.Error("the page's script writes HTML")
	}
	head := httptest.NewRecorder()
	ui.ServePage(head, httptest.NewRequest("HEAD", "/", nil))
	if head.Body.Len() != 0 || head.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("HEAD: %d bytes, %q", head.Body.Len(), head.Header().Get("Content-Type"))
	}
}

// A server serves the page at / to browsers; package server does this
// for GET / when the request's Accept names text/html.
func ExampleServePage() {
	srv := httptest.NewServer(http.HandlerFunc(ui.ServePage))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Header.Get("Content-Type"))
	fmt.Println(strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "default-src 'none'"))
	// Output:
	// text/html; charset=utf-8
	// true
}
