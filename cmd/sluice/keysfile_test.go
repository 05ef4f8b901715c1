package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// serve --keys-file takes hashed secrets, and reloads the file on SIGHUP:
// keys added work, keys removed stop working, and a broken file keeps
// the keys in force.
func TestKeysFileReloadsOnSIGHUP(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys")
	sum := sha256.Sum256([]byte("first-secret"))
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# the first key, hashed\nfirst:sha256:" + hex.EncodeToString(sum[:]) + ":read\n")
	base, errOut, stop := startServe(t, "--db", filepath.Join(t.TempDir(), "k.db"), "--keys-file", file)
	defer stop()
	status := func(key string) int {
		req, _ := http.NewRequest("GET", base+"/v1/sessions", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := status("first-secret"); code != 200 {
		t.Fatalf("hashed key: %d", code)
	}
	write("second:second-secret:read\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", func() bool { return status("second-secret") == 200 })
	if code := status("first-secret"); code != 401 {
		t.Fatalf("removed key: %d", code)
	}
	write("broken")
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, "the failed reload", func() bool {
		return strings.Contains(errOut.String(), "keys file") && strings.Contains(errOut.String(), "level=ERROR")
	})
	if code := status("second-secret"); code != 200 {
		t.Fatalf("after a broken file: %d", code)
	}
}
