package jetstream

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzToken: every session ID maps to a subject token that NATS accepts
// (no '.', '*', '>', whitespace or control characters; not empty) and
// reads back unchanged; a subject that is not a token of the prefix is
// refused, never misread.
func FuzzToken(f *testing.F) {
	for _, id := range []string{"s", "a.b", "*", ">", "a b", "chat/1", "é", "\x01", strings.Repeat("x", 256)} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if id == "" || !utf8.ValidString(id) {
			return
		}
		tok := token(id)
		if tok == "" || strings.ContainsFunc(tok, func(r rune) bool {
			return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) {
			t.Fatalf("token(%q) = %q: not a safe subject token", id, tok)
		}
		got, ok := sessionOf("S.e."+tok, "S.e.")
		if !ok || got != id {
			t.Fatalf("sessionOf(token(%q)) = %q, %v", id, got, ok)
		}
		// Outside input: any subject the server reports.
		if got, ok := sessionOf(id, "S.e."); ok && token(got) != strings.TrimPrefix(id, "S.e.") {
			t.Fatalf("sessionOf(%q) = %q, which does not map back", id, got)
		}
	})
}

// TestTokenStrict: a subject whose token has stray trailing bits (another
// spelling of an ID's token) is refused.
func TestTokenStrict(t *testing.T) {
	if id, ok := sessionOf("S.e.YR", "S.e."); ok { // "a" is YQ
		t.Fatalf("sessionOf(S.e.YR) = %q, want refused", id)
	}
}
