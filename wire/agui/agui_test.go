package agui_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/internal/nodeclient"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOfficialClient checks the agui stream of every recorded session with
// the official client, uncut and cut at random bytes and resumed (see
// nodeclient.CheckFormat and testdata/node/agui.mjs).
func TestOfficialClient(t *testing.T) { nodeclient.CheckFormat(t, "agui", "agui.mjs") }
