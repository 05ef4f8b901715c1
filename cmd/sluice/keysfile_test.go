package main

import (
	"crypto/sha256"
	"encoding/hex"
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
	write("# the first key, hashed\nfirst:sha256:" + hex.EncodeToString(sum[:]) + ":ingest\n")
	base, errOut, stop := startServe(t, "--db", filepath.Join(t.TempDir(), "k.db"), "--keys-file", file)
	defer stop()
	ev := `{"type":"message.text.delta","meta":{"session":"k"},"payload":{"text":"x"}}`
	status := func(key string) int { return post(t, base+"/v1/events", key, ev) }
	if code := status("first-secret"); code != 200 {
		t.Fatalf("hashed key: %d", code)
	}
	write("second:second-secret:ingest\n")
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
