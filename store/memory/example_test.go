package memory_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
)

// Keep at most two events per session, and list what is left.
func Example() {
	ctx := context.Background()
	s, err := memory.New(memory.WithRetention(store.Retention{MaxEvents: 2}))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	meta := event.Meta{SessionID: "run-7"}
	for _, status := range []string{"thinking", "calling_tool", "waiting"} {
		if err := s.Append(ctx, []event.Event{event.New(event.Status{Status: status}, meta)}); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := s.Prune(ctx); err != nil { // the store also prunes in the background
		log.Fatal(err)
	}
	infos, err := s.Sessions(ctx, store.SessionQuery{Prefix: "run-"})
	if err != nil {
		log.Fatal(err)
	}
	for _, si := range infos {
		fmt.Printf("%s: %d stored, last seq %d\n", si.ID, si.Count, si.LastSeq)
	}
	for e, err := range s.ReadAll(ctx, store.AllQuery{}) {
		if err != nil {
			log.Fatal(err)
		}
		st, _ := event.As[event.Status](e.Event)
		fmt.Println(e.Pos, e.Event.Seq, st.Status)
	}
	// Output:
	// run-7: 2 stored, last seq 3
	// 2 2 calling_tool
	// 3 3 waiting
}

// A producer that does not know whether its Append went through sends the
// same events again: the store keeps each ID once per session and answers
// with the sequence numbers the events already have.
func ExampleStore_Append_retry() {
	ctx := context.Background()
	s, err := memory.New()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	meta := event.Meta{SessionID: "chat-1"}
	batch := []event.Event{event.New(event.TextDelta{Text: "Hel"}, meta), event.New(event.TextDelta{Text: "lo"}, meta)}
	if err := s.Append(ctx, batch); err != nil {
		log.Fatal(err)
	}
	// The retry, with one new event.
	retry := append(batch[:2:2], event.New(event.TextDelta{Text: "!"}, meta))
	if err := s.Append(ctx, retry); err != nil {
		log.Fatal(err)
	}
	fmt.Println(retry[0].Seq, retry[1].Seq, retry[2].Seq)
	info, err := s.Session(ctx, "chat-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d events stored\n", info.Count)
	// Output:
	// 1 2 3
	// 3 events stored
}

// List sessions newest activity first, a page at a time: each next page
// starts before the last position of the page before.
func ExampleStore_Sessions_byActivity() {
	ctx := context.Background()
	s, err := memory.New()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"a", "b", "c", "a", "d"} {
		if err := s.Append(ctx, []event.Event{event.New(event.Status{Status: "working"}, event.Meta{SessionID: id})}); err != nil {
			log.Fatal(err)
		}
	}
	q := store.SessionQuery{Order: store.ByActivity, Limit: 3}
	for {
		page, err := s.Sessions(ctx, q)
		if err != nil {
			log.Fatal(err)
		}
		for i, si := range page {
			if i > 0 {
				fmt.Print(", ")
			}
			fmt.Printf("%s (last position %d)", si.ID, si.LastPos)
		}
		fmt.Println()
		if len(page) < q.Limit {
			break
		}
		q.Before = page[len(page)-1].LastPos
	}
	// Output:
	// d (last position 5), a (last position 4), c (last position 3)
	// b (last position 2)
}

// AppendDups tells which events of a call were duplicates, as the hub needs
// to hand only new events to its bus.
func ExampleStore_AppendDups() {
	ctx := context.Background()
	s, err := memory.New()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	meta := event.Meta{SessionID: "chat-1"}
	a, b := event.New(event.TextDelta{Text: "Hel"}, meta), event.New(event.TextDelta{Text: "lo"}, meta)
	if _, err := s.AppendDups(ctx, []event.Event{a}); err != nil {
		log.Fatal(err)
	}
	retry := []event.Event{a, b, b}
	dups, err := s.AppendDups(ctx, retry)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("duplicates:", dups)
	fmt.Println("seqs:", retry[0].Seq, retry[1].Seq, retry[2].Seq)
	// Output:
	// duplicates: [0 2]
	// seqs: 1 2 2
}
