package extract_test

import (
	"context"
	"fmt"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/extract"
)

// A model streams a plan inside its answer; the user sees the answer
// without it, and the program gets the plan as JSON.
func Example() {
	show := sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
		switch p := ev.Payload.(type) {
		case event.TextDelta:
			fmt.Printf("text %q\n", p.Text)
		case event.ExtractBlockCompleted:
			fmt.Printf("block %s: %s\n", p.Tag, p.Value)
		case event.TextCompleted:
			fmt.Printf("completed %q\n", p.Text)
		}
		return nil
	})
	sink, err := extract.New(show, extract.WithExtractor("acme:plan:v1", extract.YAML()))
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	text := sluice.NewEmitter(sink, event.Meta{MessageID: "m1"}).TextBlock(0)
	for _, d := range []string{"Here is the plan.", " <acme:pl", "an:v1>\ntitle: Ship it\n", "steps: [build, test]\n</acme:", "plan:v1> Shall I start?"} {
		_ = text.Delta(ctx, d)
	}
	_ = text.Complete(ctx)
	// Output:
	// text "Here is the plan."
	// text " "
	// block acme:plan:v1: {"steps":["build","test"],"title":"Ship it"}
	// text " Shall I start?"
	// completed "Here is the plan.  Shall I start?"
}

// Snapshots show a block's best-so-far value while it streams.
func ExampleWithSnapshotEvery() {
	show := sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
		if p, ok := event.As[event.ExtractBlockSnapshot](*ev); ok {
			fmt.Printf("%d bytes: %s\n", p.Bytes, p.Value)
		}
		return nil
	})
	sink, _ := extract.New(show, extract.WithExtractor("acme:todo:v1", extract.JSON()), extract.WithSnapshotEvery(1, true))
	ctx := context.Background()
	text := sluice.NewEmitter(sink, event.Meta{}).TextBlock(0)
	for _, d := range []string{"<acme:todo:v1>[\n", `"wash",` + "\n", `"dry",` + "\n", `"fold"` + "\n]", "</acme:todo:v1>"} {
		_ = text.Delta(ctx, d)
	}
	_ = text.Complete(ctx)
	// Output:
	// 10 bytes: ["wash"]
	// 17 bytes: ["wash","dry"]
}

// Under PassThrough a block that fails to parse reaches the user as text.
func ExampleWithPolicy() {
	show := sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
		switch p := ev.Payload.(type) {
		case event.ExtractBlockMalformed:
			fmt.Printf("malformed (%s): %s\n", p.Reason, p.Error.Message)
		case event.TextCompleted:
			fmt.Printf("completed %q\n", p.Text)
		}
		return nil
	})
	sink, _ := extract.New(show, extract.WithExtractor("acme:data:v1", extract.JSON()), extract.WithPolicy(extract.PassThrough))
	ctx := context.Background()
	text := sluice.NewEmitter(sink, event.Meta{}).TextBlock(0)
	_ = text.Delta(ctx, "see <acme:data:v1>{oops}</acme:data:v1>")
	_ = text.Complete(ctx)
	// Output:
	// malformed (parse): invalid character 'o' looking for beginning of object key string
	// completed "see <acme:data:v1>{oops}</acme:data:v1>"
}
