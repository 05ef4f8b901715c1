package sluiceeino_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cloudwego/eino/components/retriever"
	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/schema"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/recorder"
)

// docs is a retriever that finds the documents it was given.
type docs []*schema.Document

func (d docs) Retrieve(context.Context, string, ...retriever.Option) ([]*schema.Document, error) {
	return d, nil
}

// A retriever node becomes a step of kind Retriever, with the query as its
// input and the documents as its output, under the chain's run.
func TestRetrieverStep(t *testing.T) {
	rec := recorder.New()
	r, err := compose.NewChain[string, []*schema.Document]().
		AppendRetriever(docs{{ID: "d1", Content: "Paris is the capital of France."}}, compose.WithNodeName("search")).
		Compile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Invoke(newCtx(rec), "capital of France", compose.WithCallbacks(handler(t)))
	if err != nil || len(out) != 1 {
		t.Fatal(out, err)
	}
	chain := rec.Of(event.TypeCompositionStarted)
	st, done := rec.Of(event.TypeCompositionStepStarted), rec.Of(event.TypeCompositionStepCompleted)
	if len(chain) != 1 || len(st) != 1 || len(done) != 1 {
		t.Fatalf("chain %d, step started %d, completed %d", len(chain), len(st), len(done))
	}
	s := st[0].Payload.(event.CompositionStepStarted)
	if s.StepID != "search" || s.Kind != "Retriever" || !strings.Contains(string(s.Input), "capital of France") || st[0].Meta.ParentID != span(chain[0]) {
		t.Errorf("step started %+v, meta %+v", s, st[0].Meta)
	}
	if d := done[0].Payload.(event.CompositionStepCompleted); !strings.Contains(string(d.Output), "Paris is the capital") || span(done[0]) != span(st[0]) {
		t.Errorf("step completed %+v", d)
	}
}
